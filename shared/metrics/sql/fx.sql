-- Exchange rates for home-currency totals (public.fx_rates: ECB reference rates, units per 1 EUR). Not tenant
-- data: the dashboard runs these owner-side.

-- name: fx_rates_on
-- For each (currency, local day): the ECB rate last published on or before that day; nulls when there is none.
select q.currency, q.day, r.rate_date, r.per_eur
from unnest(%(currencies)s::text[], %(days)s::date[]) as q (currency, day)
left join lateral (
  select f.rate_date, f.per_eur
  from public.fx_rates f
  where f.currency = q.currency and f.rate_date <= q.day
  order by f.rate_date desc
  limit 1
) r on true;

-- name: fx_rates_coverage
-- Per currency: how many publication days are loaded, the first and the last.
select currency, count(*)::bigint as days, min(rate_date) as first_day, max(rate_date) as last_day
from public.fx_rates
group by currency
order by currency;

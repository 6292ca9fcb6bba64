-- Exchange rates for home-currency totals (public.fx_rates: ECB reference rates, units per 1 EUR). Not tenant
-- data: the dashboard runs these owner-side.

-- name: fx_rates_during
-- Per currency: every rate published from first to last (inclusive), and the last one published before first.
select q.currency, f.rate_date, f.per_eur
from unnest(%(currencies)s::text[]) as q (currency)
cross join lateral (
  (select b.rate_date, b.per_eur from public.fx_rates b
   where b.currency = q.currency and b.rate_date < %(first)s::date
   order by b.rate_date desc
   limit 1)
  union all
  (select d.rate_date, d.per_eur from public.fx_rates d
   where d.currency = q.currency and d.rate_date >= %(first)s::date and d.rate_date <= %(last)s::date)
) f;

-- name: fx_rates_coverage
-- Per currency: how many publication days are loaded, the first and the last.
select currency, count(*)::bigint as days, min(rate_date) as first_day, max(rate_date) as last_day
from public.fx_rates
group by currency
order by currency;

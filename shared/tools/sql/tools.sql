-- Named queries of the operator's tools (shared/tools/): rate loading and the raw-event export.

-- name: fx_staging
-- A transaction-local staging table for one load of ECB rates.
create temporary table fx_staging (currency text, rate_date date, per_eur numeric) on commit drop;

-- name: fx_copy_staging
-- COPY target of the staged rates.
copy fx_staging (currency, rate_date, per_eur) from stdin;

-- name: fx_merge_staging
-- Upserts the staged rates (a corrected rate replaces the stored one) and returns how many rows changed.
with merged as (
  insert into public.fx_rates as f (currency, rate_date, per_eur)
  select distinct on (currency, rate_date) currency, rate_date, per_eur from fx_staging
  order by currency, rate_date
  on conflict (currency, rate_date) do update set per_eur = excluded.per_eur, loaded_at = now()
  where f.per_eur is distinct from excluded.per_eur
  returning 1
)
select count(*)::bigint from merged;

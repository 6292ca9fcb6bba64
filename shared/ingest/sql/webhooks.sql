-- Named queries of the webhook sources (shared/ingest/webhooks.py). Each starts with a `-- name:` header.

-- name: create_webhook_source
-- Registers a provider account of an organization; the secret arrives already encrypted.
insert into public.analytics_webhook_sources (id, organization_id, provider, name, secret_ciphertext, settings)
values (%(id)s, %(organization_id)s, %(provider)s, %(name)s, %(secret)s, %(settings)s)
returning created_at;

-- name: find_webhook_source
-- One source with its encrypted secrets, for verifying a delivery.
select s.id, s.organization_id, s.provider, s.name, s.settings, s.secret_ciphertext,
       s.previous_secret_ciphertext, s.previous_secret_expires_at
from public.analytics_webhook_sources s
where s.id = %(id)s;

-- name: list_webhook_sources
-- The sources of an organization, oldest first, without secrets.
select id, organization_id, provider, name, settings, created_at, rotated_at, previous_secret_expires_at
from public.analytics_webhook_sources
where organization_id = %(organization_id)s
order by created_at, id;

-- name: rotate_webhook_source_secret
-- Makes the new secret current and keeps the old one valid until the end of the rotation window.
update public.analytics_webhook_sources
set previous_secret_ciphertext = secret_ciphertext,
    previous_secret_expires_at = now() + make_interval(secs => %(window_seconds)s),
    secret_ciphertext = %(secret)s,
    rotated_at = now()
where id = %(id)s
returning id, provider, previous_secret_expires_at;

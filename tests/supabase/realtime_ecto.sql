-- The parts of Realtime's tenant migrations written in Ecto's DSL rather than execute("..."), as the SQL Ecto
-- generates for them (PostgreSQL adapter: bigserial ids, timestamps() as timestamp(0) inserted_at/updated_at,
-- index names <table>_<columns>_index). Each section runs before the execute() statements of its file.
-- 20250506224012_subscription_index_bridging_disabled has a bare string and no execute(): it runs nothing
-- upstream either.

-- file: 00000000000000_schema_migrations
create table if not exists realtime.schema_migrations (version bigint primary key, inserted_at timestamp(0));

-- file: 20231018144023_create_channels.ex
create table realtime.channels (
  id bigserial primary key, name varchar(255) not null,
  inserted_at timestamp(0) not null, updated_at timestamp(0) not null);
create unique index channels_name_index on realtime.channels (name);

-- file: 20240108234812_add_channels_column_for_write_check.ex
alter table realtime.channels add column "check" boolean default false;

-- file: 20240227174441_add_broadcast_permissions_table.ex
create table realtime.broadcasts (
  id bigserial primary key, channel_id bigint not null references realtime.channels (id) on delete cascade,
  "check" boolean default false not null, inserted_at timestamp(0) not null, updated_at timestamp(0) not null);
create unique index broadcasts_channel_id_index on realtime.broadcasts (channel_id);

-- file: 20240321100241_add_presences_permissions_table.ex
create table realtime.presences (
  id bigserial primary key, channel_id bigint not null references realtime.channels (id) on delete cascade,
  "check" boolean default false not null, inserted_at timestamp(0) not null, updated_at timestamp(0) not null);
create unique index presences_channel_id_index on realtime.presences (channel_id);

-- file: 20240418121054_remove_check_columns.ex
alter table realtime.channels drop column "check";
alter table realtime.broadcasts drop column "check";
alter table realtime.presences drop column "check";

-- file: 20240523004032_redefine_authorization_tables.ex
drop table if exists realtime.broadcasts cascade;
drop table if exists realtime.presences cascade;
drop table if exists realtime.channels cascade;
create table if not exists realtime.messages (
  id bigserial primary key, topic text not null, extension text not null,
  inserted_at timestamp(0) not null, updated_at timestamp(0) not null);
create index if not exists messages_topic_index on realtime.messages (topic);

-- file: 20240919163303_add_payload_to_messages.ex
alter table realtime.messages
  add column if not exists payload jsonb,
  add column if not exists event text,
  add column if not exists topic text,
  add column if not exists private boolean default true,
  alter column inserted_at type timestamp(0), alter column inserted_at set default now(),
  alter column updated_at type timestamp(0), alter column updated_at set default now();

-- file: 20240919163305_change_messages_id_type.ex
alter table realtime.messages add column if not exists uuid uuid;

-- file: 20241108114728_messages_using_uuid.ex
alter table realtime.messages
  drop column id, drop column uuid,
  add column id uuid not null default gen_random_uuid();

-- file: 20250905041441_create_messages_replay_index.ex
create index if not exists messages_inserted_at_topic_index on realtime.messages (inserted_at desc, topic)
  where extension = 'broadcast' and private is true;

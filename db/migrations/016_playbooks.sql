-- Playbooks as authored data (issue 16, part 1; docs/playbooks.md): the versions published through
-- POST /v1/playbooks, beside the built-in ones (playbooks/*.yaml, compiled into shared/builtin-playbooks.ts).
-- A version is immutable: a case started with it carries it whole in its input, and the ledger keeps
-- what was published, as it was published. A change is a new version.
--   body    the validated playbook, every default filled in (what a case starts with)
--   source  the file as published (YAML or JSON text, comments and all); sha256 is of this text (UTF-8)
create table playbook_versions (
  playbook_id   text        not null check (playbook_id ~ '^[a-z0-9][a-z0-9-]{0,99}$'),
  version       int         not null check (version > 0),
  name          text        not null,
  body          jsonb       not null,
  source        text        not null,
  sha256        text        not null check (sha256 = encode(sha256(convert_to(source, 'UTF8')), 'hex')),
  published_by  text        not null,
  published_at  timestamptz not null default now(),
  primary key (playbook_id, version),
  check (body->>'id' = playbook_id and body->>'version' = version::text and body->>'name' = name)
);

-- Append-only: an update, a delete or a truncate is refused, whoever asks.
create function recoup_playbook_versions_immutable() returns trigger language plpgsql as $$
begin
  if tg_level = 'ROW' then
    raise exception 'playbook_versions is append-only: % v% cannot be changed (%); publish a new version',
      old.playbook_id, old.version, lower(tg_op) using errcode = 'restrict_violation';
  end if;
  raise exception 'playbook_versions is append-only: no %', lower(tg_op) using errcode = 'restrict_violation';
end $$;
create trigger playbook_versions_immutable before update or delete on playbook_versions
  for each row execute function recoup_playbook_versions_immutable();
create trigger playbook_versions_no_truncate before truncate on playbook_versions
  for each statement execute function recoup_playbook_versions_immutable();

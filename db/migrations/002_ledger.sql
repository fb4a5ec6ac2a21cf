-- The receivables ledger (台帐) that finance reconciles against, legal builds dossiers from and
-- supervisors audit. Every row an activity writes carries the activity's idempotency key, unique,
-- so a retried activity finds its first write instead of writing twice. Money is bigint minor units.

create table debtors (
  id                  bigserial primary key,
  account_id          text        not null unique,
  name                text        not null,
  id_number           text,
  phones              text[]      not null default '{}',
  email               text,
  address             text,
  region              text,
  time_zone           text        not null,
  jurisdiction        text        not null default 'CN' check (jurisdiction in ('CN', 'US')),
  do_not_contact      boolean     not null default false,
  cease_communication boolean     not null default false,
  updated_at          timestamptz not null default now()
);

create table accounts (
  account_id   text        primary key,
  debtor_id    bigint      not null references debtors (id),
  currency     char(3)     not null,
  opened_at    timestamptz not null default now()
);

create table guarantors (
  id             bigserial primary key,
  account_id     text        not null references accounts (account_id),
  guarantor_ref  text        not null,
  name           text        not null,
  phones         text[]      not null default '{}',
  address        text,
  unique (account_id, guarantor_ref)
);

-- The case projection: written by the projectCase activity on each change of the workflow.
alter table cases
  add column collector_id     text,
  add column days_overdue     int    not null default 0,
  add column principal_minor  bigint not null default 0,
  add column penalty_minor    bigint not null default 0,
  add column fees_minor       bigint not null default 0,
  add column broken_promises  int    not null default 0,
  add column treatment        text   not null default 'collect',
  add column in_dispute       boolean not null default false,
  add column next_action      text,
  add column next_action_at   timestamptz,
  add column projection_no    int    not null default 0,
  add column projected_at     timestamptz;

-- Each missed instalment of a case: the ledger's principal is these, less what payments allocated to principal.
create table instalments (
  id               bigserial primary key,
  idempotency_key  text        not null unique,
  case_key         text        not null references cases (case_key),
  account_id       text        not null,
  due_date         date        not null,
  amount_minor     bigint      not null check (amount_minor > 0),
  currency         char(3)     not null,
  recorded_at      timestamptz not null default now(),
  unique (case_key, due_date)
);

create table field_officers (
  officer_id  text    primary key,
  name        text    not null,
  region      text    not null,
  vehicle     text,
  active      boolean not null default true
);

-- A collector's call task: placed by the case, closed when the collector reports the outcome.
create table call_tasks (
  id               bigserial primary key,
  idempotency_key  text        not null unique,
  case_key         text        not null references cases (case_key),
  account_id       text        not null,
  collector_id     text,
  party            text        not null check (party in ('debtor', 'guarantor', 'third-party')),
  party_ref        text,
  phone            text,
  due_at           timestamptz not null,
  window_end       timestamptz not null,
  status           text        not null default 'open' check (status in ('open', 'done', 'cancelled')),
  outcome          text,
  reported_at      timestamptz,
  created_at       timestamptz not null default now()
);
create index call_tasks_queue on call_tasks (collector_id, status, due_at);

-- Every contact: placed, reported, or refused by the compliance guard (with the rule that refused it).
create table contact_attempts (
  id               bigserial primary key,
  idempotency_key  text        not null unique,
  case_key         text        not null references cases (case_key),
  account_id       text        not null,
  channel          text        not null check (channel in ('phone', 'visit', 'sms', 'email', 'letter')),
  party            text        not null check (party in ('debtor', 'guarantor', 'third-party')),
  status           text        not null check (status in ('placed', 'completed', 'refused')),
  outcome          text,
  reason_category  int         check (reason_category between 1 and 6),
  conversation     boolean     not null default false,
  refused_rule     text,
  next_allowed_at  timestamptz,
  note             text        not null default '',
  actor            text        not null,
  attempted_at     timestamptz not null
);
create index contact_attempts_case on contact_attempts (case_key, attempted_at);

create table visits (
  id                 bigserial primary key,
  idempotency_key    text        not null unique,
  case_key           text        not null references cases (case_key),
  account_id         text        not null,
  planned_for        date        not null,
  window_from        time        not null,
  window_to          time        not null,
  officer_id         text        references field_officers (officer_id),
  vehicle            text,
  materials          text[]      not null default '{}',
  purpose            text        not null,
  approval_required  boolean     not null default false,
  approved_by        text,
  approved_at        timestamptz,
  status             text        not null default 'planned' check (status in ('planned', 'approved', 'done', 'cancelled')),
  outcome            text,
  signed_statement   boolean,
  written_promise    text,
  reported_at        timestamptz,
  created_at         timestamptz not null default now()
);
create index visits_officer on visits (officer_id, planned_for);

create table notices (
  id               bigserial primary key,
  idempotency_key  text        not null unique,
  case_key         text        not null references cases (case_key),
  account_id       text        not null,
  kind             text        not null check (kind in ('overdue-notice', 'statement-of-account', 'lawyers-letter', 'guarantor-demand')),
  language         text        not null,
  reference        text        not null unique,
  recipient        text        not null,
  content_hash     text        not null,
  document         bytea       not null,
  currency         char(3)     not null,
  principal_minor  bigint      not null,
  penalty_minor    bigint      not null,
  fees_minor       bigint      not null,
  total_minor      bigint      not null,
  delivery_channel text        not null,
  delivery_status  text        not null default 'queued',
  provider_ref     text,
  issued_at        timestamptz not null default now()
);

create table promises (
  id               bigserial primary key,
  idempotency_key  text        not null unique,
  case_key         text        not null references cases (case_key),
  promise_no       int         not null,
  promised_date    date        not null,
  amount_minor     bigint      not null check (amount_minor > 0),
  status           text        not null default 'pending' check (status in ('pending', 'kept', 'broken')),
  made_at          timestamptz not null,
  settled_at       timestamptz,
  unique (case_key, promise_no)
);

create table legal_referrals (
  id                     bigserial primary key,
  idempotency_key        text        not null unique,
  case_key               text        not null unique references cases (case_key),
  account_id             text        not null,
  reason                 text        not null,
  dossier                jsonb       not null,
  status                 text        not null default 'requested',
  requested_at           timestamptz not null default now(),
  approved_by            text,
  approved_at            timestamptz,
  filed_at               timestamptz,
  court                  text,
  court_case_number      text,
  assets_frozen_at       timestamptz,
  mediated_amount_minor  bigint,
  judgment_amount_minor  bigint,
  closed_at              timestamptz,
  outcome                text
);

create table blacklist (
  id               bigserial primary key,
  idempotency_key  text        not null unique,
  account_id       text        not null,
  case_key         text        not null references cases (case_key),
  debtor_name      text        not null,
  id_number        text,
  days_overdue     int         not null,
  listed_at        timestamptz not null default now()
);
create index blacklist_account on blacklist (account_id);

-- No new supply or lending while an account is overdue (receivables policy, articles 25–26).
create table credit_holds (
  id          bigserial primary key,
  account_id  text        not null,
  case_key    text        not null unique references cases (case_key),
  reason      text        not null,
  placed_at   timestamptz not null default now(),
  lifted_at   timestamptz,
  lift_reason text
);
create index credit_holds_active on credit_holds (account_id) where lifted_at is null;

create table case_costs (
  id               bigserial primary key,
  idempotency_key  text        not null unique,
  case_key         text        not null references cases (case_key),
  account_id       text        not null,
  kind             text        not null,
  amount_minor     bigint      not null check (amount_minor >= 0),
  currency         char(3)     not null,
  description      text        not null,
  incurred_at      timestamptz not null default now()
);

-- Messages handed to a channel provider (SMS, email, letter gateways), one per idempotency key.
create table channel_outbox (
  id               bigserial primary key,
  idempotency_key  text        not null unique,
  channel          text        not null check (channel in ('sms', 'email', 'letter')),
  case_key         text        not null,
  account_id       text        not null,
  recipient        jsonb       not null,
  payload          jsonb       not null,
  provider         text        not null,
  provider_ref     text,
  status           text        not null default 'queued',
  created_at       timestamptz not null default now(),
  sent_at          timestamptz
);

create table audit_log (
  id          bigserial primary key,
  at          timestamptz not null default now(),
  actor       text        not null,
  action      text        not null,
  case_key    text,
  account_id  text,
  detail      jsonb       not null default '{}'
);
create index audit_log_case on audit_log (case_key, at);

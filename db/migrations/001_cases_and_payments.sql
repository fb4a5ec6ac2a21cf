-- The first slice of the receivables ledger: one row per case (a workflow run) and per payment.
create table cases (
  id               bigserial primary key,
  account_id       text        not null,
  workflow_id      text        not null,
  run_id           text        not null unique,
  idempotency_key  text        not null unique,
  debtor_name      text        not null,
  currency         char(3)     not null,
  first_due_date   date        not null,
  opening_minor    bigint      not null check (opening_minor > 0),
  stage            text        not null default 'open',
  opened_at        timestamptz not null,
  closed_at        timestamptz,
  recorded_at      timestamptz not null default now()
);
create index cases_account on cases (account_id);

create table payments (
  id                      bigserial primary key,
  payment_id              text        not null unique,
  idempotency_key         text        not null unique,
  account_id              text        not null,
  case_run_id             text        not null references cases (run_id),
  amount_minor            bigint      not null check (amount_minor > 0),
  currency                char(3)     not null,
  paid_at                 timestamptz not null,
  outstanding_after_minor bigint      not null,
  recorded_at             timestamptz not null default now()
);
create index payments_account on payments (account_id);

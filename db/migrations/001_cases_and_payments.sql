-- The first slice of the receivables ledger: one row per case and per payment.
-- A case is one collection of an account's overdue balance: a workflow chain across
-- continue-as-new, named by case_key = '<workflowId>/<first run ID>'.
create table cases (
  id               bigserial primary key,
  case_key         text        not null unique,
  idempotency_key  text        not null unique,
  account_id       text        not null,
  workflow_id      text        not null,
  debtor_name      text        not null,
  currency         char(3)     not null,
  first_due_date   date        not null,
  opening_minor    bigint      not null check (opening_minor > 0),
  playbook_id      text        not null,
  playbook_version int         not null,
  stage            text        not null default 'open',
  paid_minor       bigint      not null default 0,
  outstanding_minor bigint,
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
  case_key                text        not null references cases (case_key),
  amount_minor            bigint      not null check (amount_minor > 0),
  currency                char(3)     not null,
  paid_at                 timestamptz not null,
  fees_minor              bigint      not null default 0,
  penalty_minor           bigint      not null default 0,
  principal_minor         bigint      not null default 0,
  excess_minor            bigint      not null default 0,
  outstanding_after_minor bigint      not null,
  recorded_at             timestamptz not null default now()
);
create index payments_account on payments (account_id);

-- Treatments that run (issue 12): restructuring plans with their instalments and reviews, the
-- settlement in kind, payment problems for finance, recoverable costs, the debtor's situation, and
-- the credit hold a closing may leave on for a supervisor to release. The workflow decides; these
-- rows are its record. A plan or a settlement carries the case's `revision` (its timeline count,
-- which only grows): a write older than the one stored changes nothing.

-- A restructuring plan of a case, as it stands after its last event (proposed, reviewed, started,
-- an instalment paid, kept, broken, refused). Numbered from 1 per case.
create table repayment_plans (
  id                 bigserial primary key,
  case_key           text        not null references cases (case_key),
  account_id         text        not null,
  plan_no            int         not null check (plan_no > 0),
  status             text        not null check (status in ('proposed', 'active', 'kept', 'broken', 'refused')),
  proposed_by        text        not null,
  proposed_at        timestamptz not null,
  total_minor        bigint      not null check (total_minor >= 0),
  reduced_to_minor   bigint      check (reduced_to_minor >= 0),
  grace_days         int         not null check (grace_days >= 0),
  penalty_mode       text        not null check (penalty_mode in ('frozen', 'reduced')),
  penalty_bps        int         check (penalty_bps >= 0),
  security           jsonb,
  note               text,
  started_at         timestamptz,
  ended_at           timestamptz,
  broken_instalment  int,
  waived_minor       bigint      not null default 0,
  paid_minor         bigint      not null default 0,
  revision           int         not null,
  updated_at         timestamptz not null,
  unique (case_key, plan_no)
);
create index repayment_plans_open on repayment_plans (status) where status in ('proposed', 'active');

-- The dated instalments of a plan (seq from 1), each with what the plan's payments covered of it so far.
create table repayment_plan_instalments (
  case_key      text   not null,
  plan_no       int    not null,
  seq           int    not null check (seq > 0),
  due_date      date   not null,
  amount_minor  bigint not null check (amount_minor >= 0),
  paid_minor    bigint not null default 0 check (paid_minor >= 0),
  status        text   not null default 'pending' check (status in ('pending', 'paid', 'missed')),
  primary key (case_key, plan_no, seq),
  foreign key (case_key, plan_no) references repayment_plans (case_key, plan_no)
);

-- Who reviewed what: a plan's finance, legal and manager reviews, a manager's decision on the
-- shortfall of a settlement in kind. One decision per role and subject.
create table treatment_approvals (
  id          bigserial primary key,
  case_key    text        not null references cases (case_key),
  account_id  text        not null,
  subject     text        not null check (subject in ('plan', 'in-kind-shortfall')),
  subject_no  int         not null,
  role        text        not null,
  decided_by  text        not null,
  decision    text        not null check (decision in ('approve', 'refuse', 'write-off', 'collect')),
  note        text,
  decided_at  timestamptz not null,
  unique (case_key, subject, subject_no, role)
);

-- The settlement in kind (以物抵债) of a case, at most one: offered, appraised, preserved, title
-- transferred (the appraised value applied as a payment), or abandoned.
create table in_kind_settlements (
  case_key                text        primary key references cases (case_key),
  account_id              text        not null,
  status                  text        not null check (status in ('offered', 'appraised', 'preserved', 'transferred', 'abandoned')),
  asset                   text        not null,
  offered_by              text        not null,
  estimated_value_minor   bigint,
  appraised_value_minor   bigint,
  appraiser               text,
  appraisal_document      text,
  preservation_reference  text,
  transfer_document       text,
  shortfall_minor         bigint,
  shortfall_decision      text        check (shortfall_decision in ('write-off', 'collect')),
  abandoned_reason        text,
  applied_payment_id      text,
  revision                int         not null,
  updated_at              timestamptz not null
);

-- Reasons 4 and 5 (deposited less than the instalment; paid into the wrong account or card) are
-- payment problems, not delinquency: finance looks for the money, and resolves the investigation
-- when it attaches the payment it found (the receipts route).
create table payment_investigations (
  id               bigserial primary key,
  idempotency_key  text        not null unique,
  case_key         text        not null references cases (case_key),
  account_id       text        not null,
  reason_category  int         not null check (reason_category in (4, 5)),
  reported_by      text        not null,
  note             text        not null default '',
  status           text        not null default 'open' check (status in ('open', 'resolved')),
  opened_at        timestamptz not null,
  resolved_by      text,
  resolved_at      timestamptz,
  payment_id       text
);
create index payment_investigations_status on payment_investigations (status, opened_at, id);
create index payment_investigations_open on payment_investigations (account_id) where status = 'open';

-- A cost the playbook makes recoverable is charged to the debt's fees part (the debtor pays it);
-- the others stay the creditor's cost of collection.
alter table case_costs add column recoverable boolean not null default false;

-- A written-off, legal-closed or forgiving settled case keeps its account's credit hold: a supervisor
-- releases it (lift_reason 'released: <why>', released_by the supervisor).
alter table credit_holds add column released_by text;

-- The debtor's situation on the cases row: credit grade and segment (the lender's, at intake or
-- updated), funds (as a visit or a call showed them). Null until known.
alter table cases
  add column credit_grade text,
  add column segment      text,
  add column funds        text;

-- Managers approve plans and decide shortfalls; finance reviews plans and looks into payment problems.
alter table api_keys drop constraint api_keys_role_check;
alter table api_keys add constraint api_keys_role_check
  check (role in ('collector', 'field-officer', 'supervisor', 'legal', 'admin', 'manager', 'finance'));

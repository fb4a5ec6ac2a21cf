-- Which playbook a new case starts with, and champion/challenger experiments (issue 16, part 2;
-- docs/experiments.md). Both are read at intake (activities/intake.ts), never by a running case: a
-- case keeps the playbook it started with.

-- Playbook rules: the first enabled rule, by priority (lowest first, then rule_id), whose every
-- condition holds chooses the playbook; no rule: the default playbook. A missed payment that names
-- its playbook (playbookId) takes that one, and no rule or experiment applies to it.
--   match  {segmentIn?, creditGradeIn?, productIn?, balanceFromMinor?, balanceToMinor?}: the balance
--          is the missed instalment's amount, in [from, to)
create table playbook_rules (
  rule_id      text        primary key check (rule_id ~ '^pr-[0-9a-f]{12}$'),
  priority     int         not null,
  playbook_id  text        not null,
  match        jsonb       not null default '{}',
  description  text,
  enabled      boolean     not null default true,
  created_by   text        not null,
  created_at   timestamptz not null default now()
);

-- An experiment splits the new cases that would start with the champion playbook (and match its own
-- conditions): a stable share goes to the challenger. At most one runs per champion playbook.
--   match  as playbook_rules.match
create table experiments (
  experiment_id          text        primary key check (experiment_id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name                   text        not null,
  champion_playbook_id   text        not null,
  champion_version       int         not null,
  challenger_playbook_id text        not null,
  challenger_version     int         not null,
  challenger_percent     numeric(5, 2) not null check (challenger_percent > 0 and challenger_percent < 100),
  match                  jsonb       not null default '{}',
  status                 text        not null default 'running' check (status in ('running', 'ended')),
  created_by             text        not null,
  started_at             timestamptz not null default now(),
  ended_by               text,
  ended_at               timestamptz,
  check ((status = 'ended') = (ended_at is not null))
);
create unique index experiments_one_running on experiments (champion_playbook_id) where status = 'running';

-- An account's arm, decided once (bucket = the first 32 bits of sha256(experiment_id ':' account_id)
-- mod 10,000; challenger when bucket < percent × 100) and kept: intake of the same account again takes
-- the recorded arm, so nothing flips.
create table experiment_assignments (
  experiment_id  text        not null references experiments (experiment_id),
  account_id     text        not null,
  arm            text        not null check (arm in ('champion', 'challenger')),
  bucket         int         not null check (bucket between 0 and 9999),
  assigned_at    timestamptz not null default now(),
  primary key (experiment_id, account_id)
);

-- The cases each arm opened (the case's key is known when its workflow starts, before its ledger row).
create table experiment_cases (
  experiment_id    text        not null references experiments (experiment_id),
  case_key         text        not null unique,
  account_id       text        not null,
  arm              text        not null check (arm in ('champion', 'challenger')),
  playbook_id      text        not null,
  playbook_version int         not null,
  started_at       timestamptz not null default now(),
  foreign key (experiment_id, account_id) references experiment_assignments (experiment_id, account_id)
);
create index experiment_cases_experiment on experiment_cases (experiment_id, arm);

-- Teams, routing and escalation (issue 13): who owns each case and each task. Teams have a leader,
-- a region and the portfolio segments they take; people belong to a team with a role, a daily
-- capacity and days off; assignment rules choose a team for a case; every assignment is kept.

create table teams (
  team_id     text        primary key,
  name        text        not null,
  leader_id   text,
  region      text,
  segments    text[]      not null default '{}',
  created_at  timestamptz not null default now()
);

-- A person who works cases: their API keys carry their person id as the subject.
create table people (
  person_id       text        primary key,
  name            text        not null,
  role            text        not null check (role in ('collector', 'field-officer', 'supervisor', 'manager', 'legal', 'finance')),
  team_id         text        references teams (team_id),
  calls_per_day   int         not null default 60 check (calls_per_day >= 0),
  visits_per_day  int         not null default 4 check (visits_per_day >= 0),
  languages       text[]      not null default '{}',
  active          boolean     not null default true,
  created_at      timestamptz not null default now()
);
create index people_team on people (team_id, role) where active;

-- The working calendar: a person is not assigned work on a day off (the debtor's local date).
create table days_off (
  person_id  text not null references people (person_id),
  day        date not null,
  primary key (person_id, day)
);

-- Routing as data: the first active rule (lowest priority number) whose every given field matches
-- the case chooses its team. Null fields match anything; bands are inclusive.
create table assignment_rules (
  id                 bigserial   primary key,
  priority           int         not null,
  team_id            text        not null references teams (team_id),
  region             text,
  segment            text,
  min_balance_minor  bigint,
  max_balance_minor  bigint,
  min_days_overdue   int,
  max_days_overdue   int,
  language           text,
  active             boolean     not null default true,
  created_at         timestamptz not null default now()
);

-- Every assignment of a case (at intake, by a rule later, by a supervisor), newest last.
create table case_assignments (
  id               bigserial   primary key,
  idempotency_key  text        not null unique,
  case_key         text        not null references cases (case_key),
  account_id       text        not null,
  team_id          text,
  collector_id     text,
  leader_id        text,
  rule_id          bigint,
  reason           text        not null,
  assigned_by      text        not null,
  assigned_at      timestamptz not null
);
create index case_assignments_case on case_assignments (case_key, id);

alter table cases add column team_id text;
-- The team leader who joined a large or old case (escalation), and when.
alter table cases add column second_owner_id text;
alter table cases add column escalated_at timestamptz;
-- Contact paused (hold, dispute, promise, plan, settlement in kind): its tasks leave every queue.
alter table cases add column paused boolean not null default false;
create index cases_collector_open on cases (collector_id) where closed_at is null;
create index cases_team_open on cases (team_id) where closed_at is null;

alter table call_tasks add column team_id text;
create index call_tasks_team on call_tasks (team_id, status, due_at);

-- Reports against targets (issue 14): per period (month, quarter, year) and per scope (the whole
-- portfolio, a team, a collector) the recovery target, the cost budget, and the book figures that
-- rates need (issued, balance outstanding, accounts). Set through the API by a manager or finance.
create table targets (
  id                     bigserial   primary key,
  period_kind            text        not null check (period_kind in ('month', 'quarter', 'year')),
  period_start           date        not null,
  scope                  text        not null check (scope in ('portfolio', 'team', 'collector')),
  scope_id               text        not null default '',
  currency               char(3)     not null,
  recovery_target_minor  bigint      check (recovery_target_minor >= 0),
  cost_budget_minor      bigint      check (cost_budget_minor >= 0),
  issued_minor           bigint      check (issued_minor >= 0),
  book_balance_minor     bigint      check (book_balance_minor >= 0),
  book_accounts          int         check (book_accounts >= 0),
  set_by                 text        not null,
  updated_at             timestamptz not null default now(),
  unique (period_kind, period_start, scope, scope_id)
);

-- The figures read open cases by team and the period's payments and costs.
create index payments_paid_at on payments (paid_at);
create index case_costs_incurred on case_costs (incurred_at);
create index cases_open_overdue on cases (overdue_since) where closed_at is null;

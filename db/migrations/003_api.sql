-- API keys: only a SHA-256 of each key is stored; the key itself is shown once, when created.
create table api_keys (
  id          bigserial primary key,
  key_hash    text        not null unique,
  key_prefix  text        not null,
  subject     text        not null,
  role        text        not null check (role in ('collector', 'field-officer', 'supervisor', 'legal', 'admin')),
  created_at  timestamptz not null default now(),
  revoked_at  timestamptz
);

-- Every payment a processor reports, kept before it reaches a case: finance sees the ones no case took.
create table payment_receipts (
  id           bigserial primary key,
  payment_id   text        not null unique,
  account_id   text        not null,
  amount_minor bigint      not null check (amount_minor > 0),
  currency     char(3)     not null,
  paid_at      timestamptz not null,
  status       text        not null default 'received' check (status in ('received', 'applied', 'duplicate', 'unmatched', 'after-close', 'rejected')),
  detail       text,
  received_at  timestamptz not null default now()
);
create index payment_receipts_unmatched on payment_receipts (status) where status in ('unmatched', 'after-close', 'rejected');

-- Events out (issue 15, part 2): what happens to a case, as the ledger records it, for the systems that
-- want to know (CRM, finance, the data warehouse). Triggers on the ledger's own tables write each event
-- in the transaction that records the fact, so an event exists exactly when its fact does; and put it in
-- the outbox of every subscription that wants its type (active or paused). A dispatcher workflow per subscription
-- delivers its outbox in order (docs/events.md).
create table case_events (
  id           bigserial   primary key,
  -- What a subscriber deduplicates on.
  event_id     text        not null unique,
  type         text        not null,
  case_key     text        not null,
  account_id   text        not null,
  occurred_at  timestamptz not null default now(),
  data         jsonb       not null default '{}'
);
create index case_events_case on case_events (case_key, id);

create table event_subscriptions (
  subscription_id text        primary key,
  url             text        not null,
  -- Signs every delivery (Recoup-Signature, as inbound webhooks are signed); shown once, at creation.
  secret          text        not null,
  -- Event types, or '*' for all.
  event_types     text[]      not null,
  description     text,
  status          text        not null default 'active' check (status in ('active', 'paused')),
  paused_at       timestamptz,
  paused_reason   text,
  -- Deliveries have failed without a success since then: past the limit the subscription is paused.
  failing_since   timestamptz,
  created_by      text        not null,
  created_at      timestamptz not null default now()
);

-- A subscription's outbox and delivery log: one row per event it wants, pending until delivered.
create table event_deliveries (
  subscription_id text        not null references event_subscriptions (subscription_id),
  event_row       bigint      not null references case_events (id),
  status          text        not null default 'pending' check (status in ('pending', 'delivered')),
  attempts        int         not null default 0,
  last_status     int,
  last_error      text,
  last_attempt_at timestamptz,
  delivered_at    timestamptz,
  primary key (subscription_id, event_row)
);
create index event_deliveries_pending on event_deliveries (subscription_id, event_row) where status = 'pending';

-- Every attempt, for the admin: when, what the subscriber answered, how long it took.
create table event_attempts (
  id              bigserial   primary key,
  subscription_id text        not null,
  event_row       bigint      not null,
  at              timestamptz not null default now(),
  http_status     int,
  error           text,
  duration_ms     int         not null
);
create index event_attempts_subscription on event_attempts (subscription_id, id);

-- An instant as the API writes it: 2026-11-29T03:12:45.120Z.
create function recoup_iso(t timestamptz) returns text language sql immutable as $$
  select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

create function recoup_emit(p_type text, p_case_key text, p_account_id text, p_data jsonb) returns void language plpgsql as $$
declare
  row_id bigint;
begin
  insert into case_events (event_id, type, case_key, account_id, data)
  values ('evt_' || replace(gen_random_uuid()::text, '-', ''), p_type, p_case_key, p_account_id, p_data)
  returning id into row_id;
  insert into event_deliveries (subscription_id, event_row)
  -- A paused subscription queues too: its events go out when it is resumed.
  select subscription_id, row_id from event_subscriptions
  where p_type = any (event_types) or '*' = any (event_types);
  if found then
    perform pg_notify('recoup_events', '');
  end if;
end $$;

create function recoup_case_events() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    perform recoup_emit('case.opened', new.case_key, new.account_id, jsonb_build_object(
      'stage', new.stage, 'currency', new.currency, 'openingMinor', new.opening_minor, 'firstDueDate', new.first_due_date,
      'playbookId', new.playbook_id, 'openedAt', recoup_iso(new.opened_at)));
  else
    if old.stage is distinct from new.stage then
      perform recoup_emit('case.stage_changed', new.case_key, new.account_id, jsonb_build_object(
        'from', old.stage, 'to', new.stage, 'outstandingMinor', new.outstanding_minor));
    end if;
    if old.closed_at is null and new.closed_at is not null then
      perform recoup_emit('case.closed', new.case_key, new.account_id, jsonb_build_object(
        'stage', new.stage, 'paidMinor', new.paid_minor, 'outstandingMinor', new.outstanding_minor, 'closedAt', recoup_iso(new.closed_at)));
    end if;
  end if;
  return null;
end $$;
create trigger cases_events after insert or update of stage, closed_at on cases
  for each row execute function recoup_case_events();

create function recoup_promise_events() returns trigger language plpgsql as $$
declare
  account text := (select account_id from cases where case_key = new.case_key);
  data jsonb := jsonb_build_object('promiseNo', new.promise_no, 'promisedDate', new.promised_date, 'amountMinor', new.amount_minor);
begin
  if tg_op = 'INSERT' then
    perform recoup_emit('promise.made', new.case_key, account, data);
  end if;
  -- Recorded already settled (made and kept in one batch), or settled now.
  if new.status in ('kept', 'broken') and (tg_op = 'INSERT' or old.status = 'pending') then
    perform recoup_emit('promise.' || new.status, new.case_key, account, data);
  end if;
  return null;
end $$;
create trigger promises_events after insert or update of status on promises
  for each row execute function recoup_promise_events();

create function recoup_plan_events() returns trigger language plpgsql as $$
declare
  data jsonb := jsonb_build_object('planNo', new.plan_no, 'totalMinor', new.total_minor, 'reducedToMinor', new.reduced_to_minor,
                                   'brokenInstalment', new.broken_instalment);
begin
  if new.status = 'active' and (tg_op = 'INSERT' or old.status <> 'active') then
    perform recoup_emit('plan.made', new.case_key, new.account_id, data);
  elsif new.status in ('kept', 'broken') and (tg_op = 'INSERT' or old.status is distinct from new.status) then
    if tg_op = 'INSERT' or old.status <> 'active' then
      -- Started and ended in one write: it was made first.
      perform recoup_emit('plan.made', new.case_key, new.account_id, data);
    end if;
    perform recoup_emit('plan.' || new.status, new.case_key, new.account_id, data);
  end if;
  return null;
end $$;
create trigger repayment_plans_events after insert or update of status on repayment_plans
  for each row execute function recoup_plan_events();

create function recoup_legal_events() returns trigger language plpgsql as $$
begin
  perform recoup_emit('legal.referred', new.case_key, new.account_id, jsonb_build_object('reason', new.reason, 'status', new.status));
  return null;
end $$;
create trigger legal_referrals_events after insert on legal_referrals
  for each row execute function recoup_legal_events();

create function recoup_blacklist_events() returns trigger language plpgsql as $$
begin
  perform recoup_emit('debtor.blacklisted', new.case_key, new.account_id, jsonb_build_object(
    'daysOverdue', new.days_overdue, 'listedAt', recoup_iso(new.listed_at)));
  return null;
end $$;
create trigger blacklist_events after insert on blacklist
  for each row execute function recoup_blacklist_events();

-- The relay of channel_outbox through the configured gateway (the events' kind of dispatcher): what the
-- gateway answered. status: queued → sent | delivered (the gateway's receipt) | rejected (refused, 4xx).
alter table channel_outbox add column attempts int not null default 0, add column last_error text;
create index channel_outbox_queued on channel_outbox (id) where status = 'queued';

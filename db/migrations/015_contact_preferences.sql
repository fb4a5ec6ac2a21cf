-- Contact preferences (issue 15, part 4), set through the API (api/routes/preferences.ts) and audited;
-- the compliance guard and the letters read them from here at each contact, never from the workflow.
--   preferred_channel   how the person would rather be contacted ('call' is the contact log's 'phone'):
--                       a preference, not a prohibition; a contact by another channel still happens,
--                       and its contact_attempts row says what was preferred
--   preferred_language  the language of the person's letters (a BCP 47 tag; the API takes only the
--                       languages the letters are rendered in); null: the playbook's letterLanguage
--   third_party_consent the debtor consented to the collector contacting third parties about the debt
--                       (12 CFR 1006.6(d)(1)); nothing in the engine contacts a third party yet

alter table debtors
  add column preferred_channel   text    check (preferred_channel in ('call', 'sms', 'email', 'letter', 'visit')),
  add column preferred_language  text    check (preferred_language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'),
  add column third_party_consent boolean not null default false;

-- A guarantor's own do-not-contact and cease-communication (the debtor's flags refuse the guarantor's
-- contacts too, as before), preferred channel and language; updated_at: when a row last changed.
alter table guarantors
  add column do_not_contact      boolean     not null default false,
  add column cease_communication boolean     not null default false,
  add column preferred_channel   text        check (preferred_channel in ('call', 'sms', 'email', 'letter', 'visit')),
  add column preferred_language  text        check (preferred_language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'),
  add column updated_at          timestamptz not null default now();

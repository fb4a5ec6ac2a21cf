-- A receipt per (payment, account) it was sent for, and only one account may hold a payment id:
-- a payment id first sent for the wrong account keeps that receipt (unmatched, later redirected)
-- and gets its own for the right one; a payment id another account holds is refused and kept as
-- rejected, never applied to the case alone.
alter table payment_receipts drop constraint payment_receipts_payment_id_key;
alter table payment_receipts add constraint payment_receipts_payment_account_key unique (payment_id, account_id);
create unique index payment_receipts_one_claim on payment_receipts (payment_id)
  where status in ('received', 'applied', 'duplicate');
alter table payment_receipts drop constraint payment_receipts_status_check;
alter table payment_receipts add constraint payment_receipts_status_check
  check (status in ('received', 'applied', 'duplicate', 'unmatched', 'after-close', 'rejected', 'redirected'));

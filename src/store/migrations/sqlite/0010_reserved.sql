-- 10: reserved for the webhooks outbox (issue 15 item 5), written on another branch: this
-- placeholder keeps the numbers without a gap here and gives way to that file at the merge
SELECT 1;

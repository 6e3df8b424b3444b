-- The customers' days by day.  Each snapshot replaces its day's rows
-- (DELETE ... WHERE day = $1), a rollup its period's, and the rater and
-- the finance exports read a month for every customer: under the key
-- (customer_id, day) alone each of these read the whole table, all of
-- its history (200,000 customers: 0.3 s a snapshot after two days, a
-- minute after a year).  By day, they read the days they name.
CREATE INDEX storage_customer_daily_day ON storage_customer_daily (day);

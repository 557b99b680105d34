-- The feature build of src/leadops/templates/features.yaml written by hand as one DuckDB query (the engine's own
-- limit for benchmarks/bench_features.py): activities aggregated once per lead with FILTERs, joined to leads and
-- accounts. {as_of} is the as-of timestamp literal. The benchmark checks its rows equal leadops' own.
WITH a AS (
  SELECT lead_id,
    count(*) FILTER (WHERE activity_type = 'email_open' AND occurred_at > {as_of} - INTERVAL 7 DAY) AS email_opens_7d,
    count(*) FILTER (WHERE activity_type = 'email_open' AND occurred_at > {as_of} - INTERVAL 30 DAY) AS email_opens_30d,
    count(*) FILTER (WHERE activity_type = 'email_open' AND occurred_at > {as_of} - INTERVAL 90 DAY) AS email_opens_90d,
    count(*) FILTER (WHERE activity_type = 'email_click' AND occurred_at > {as_of} - INTERVAL 7 DAY) AS email_clicks_7d,
    count(*) FILTER (WHERE activity_type = 'email_click' AND occurred_at > {as_of} - INTERVAL 30 DAY) AS email_clicks_30d,
    count(*) FILTER (WHERE activity_type = 'email_click' AND occurred_at > {as_of} - INTERVAL 90 DAY) AS email_clicks_90d,
    count(*) FILTER (WHERE activity_type = 'page_view' AND occurred_at > {as_of} - INTERVAL 7 DAY) AS page_views_7d,
    count(*) FILTER (WHERE activity_type = 'page_view' AND occurred_at > {as_of} - INTERVAL 30 DAY) AS page_views_30d,
    count(*) FILTER (WHERE activity_type = 'pricing_view' AND occurred_at > {as_of} - INTERVAL 7 DAY) AS pricing_views_7d,
    count(*) FILTER (WHERE activity_type = 'pricing_view' AND occurred_at > {as_of} - INTERVAL 30 DAY) AS pricing_views_30d,
    max(occurred_at) FILTER (WHERE activity_type = 'pricing_view') AS last_pricing_view,
    count(*) FILTER (WHERE activity_type = 'demo_request' AND occurred_at > {as_of} - INTERVAL 30 DAY) AS demo_requests_30d,
    count(*) FILTER (WHERE activity_type = 'demo_request' AND occurred_at > {as_of} - INTERVAL 90 DAY) AS demo_requests_90d,
    count(*) FILTER (WHERE activity_type = 'trial_start') > 0 AS trial_started,
    count(*) FILTER (WHERE activity_type IN ('webinar_attendance', 'event_attendance') AND occurred_at > {as_of} - INTERVAL 90 DAY) AS webinars_90d,
    count(*) FILTER (WHERE activity_type = 'content_download' AND occurred_at > {as_of} - INTERVAL 30 DAY) AS content_downloads_30d,
    count(*) FILTER (WHERE activity_type = 'content_download' AND occurred_at > {as_of} - INTERVAL 90 DAY) AS content_downloads_90d,
    count(*) FILTER (WHERE activity_type = 'careers_view' AND occurred_at > {as_of} - INTERVAL 90 DAY) AS careers_views_90d,
    count(*) FILTER (WHERE activity_type = 'unsubscribe') > 0 AS unsubscribed,
    max(occurred_at) FILTER (WHERE activity_type IN ('email_open', 'email_click', 'page_view', 'pricing_view',
      'content_download', 'webinar_registration', 'webinar_attendance', 'demo_request', 'trial_start', 'event_attendance',
      'social_engagement', 'form_submit')) AS last_activity,
    sum(pow(0.5, epoch({as_of} - occurred_at) / 86400 / 14)) FILTER (
      WHERE activity_type IN ('email_click', 'page_view', 'pricing_view', 'content_download', 'webinar_attendance',
                              'demo_request', 'trial_start', 'event_attendance', 'form_submit')
        AND occurred_at > {as_of} - INTERVAL 180 DAY) AS engagement_recent
  FROM activities WHERE occurred_at <= {as_of}
  GROUP BY lead_id
)
SELECT l.lead_id,
  CASE WHEN l.email_domain_type IN ('corporate', 'free', 'edu', 'gov', 'unknown') OR l.email_domain_type IS NULL THEN l.email_domain_type ELSE 'other' END AS email_domain_type,
  CASE WHEN l.job_level IN ('student', 'individual_contributor', 'manager', 'director', 'vp', 'c_level') OR l.job_level IS NULL THEN l.job_level ELSE 'other' END AS job_level,
  l.department, l.lead_source, c.region,
  l.do_not_email::DOUBLE AS do_not_email, l.do_not_call::DOUBLE AS do_not_call,
  c.industry, c.employees::DOUBLE AS employees, c.annual_revenue,
  c.profitable_last_quarter::DOUBLE AS profitable_last_quarter, c.is_competitor::DOUBLE AS is_competitor,
  epoch({as_of} - l.created_at) / 86400 AS days_since_created,
  coalesce(email_opens_7d, 0)::DOUBLE AS email_opens_7d, coalesce(email_opens_30d, 0)::DOUBLE AS email_opens_30d,
  coalesce(email_opens_90d, 0)::DOUBLE AS email_opens_90d, coalesce(email_clicks_7d, 0)::DOUBLE AS email_clicks_7d,
  coalesce(email_clicks_30d, 0)::DOUBLE AS email_clicks_30d, coalesce(email_clicks_90d, 0)::DOUBLE AS email_clicks_90d,
  coalesce(page_views_7d, 0)::DOUBLE AS page_views_7d, coalesce(page_views_30d, 0)::DOUBLE AS page_views_30d,
  coalesce(pricing_views_7d, 0)::DOUBLE AS pricing_views_7d, coalesce(pricing_views_30d, 0)::DOUBLE AS pricing_views_30d,
  epoch({as_of} - last_pricing_view) / 86400 AS days_since_pricing_view,
  coalesce(demo_requests_30d, 0)::DOUBLE AS demo_requests_30d, coalesce(demo_requests_90d, 0)::DOUBLE AS demo_requests_90d,
  coalesce(trial_started, false)::DOUBLE AS trial_started, coalesce(webinars_90d, 0)::DOUBLE AS webinars_90d,
  coalesce(content_downloads_30d, 0)::DOUBLE AS content_downloads_30d,
  coalesce(content_downloads_90d, 0)::DOUBLE AS content_downloads_90d,
  coalesce(careers_views_90d, 0)::DOUBLE AS careers_views_90d, coalesce(unsubscribed, false)::DOUBLE AS unsubscribed,
  epoch({as_of} - last_activity) / 86400 AS days_since_last_activity,
  coalesce(engagement_recent, 0) AS engagement_recent,
  coalesce(email_clicks_30d, 0) / (coalesce(email_opens_30d, 0) + 1) AS email_click_rate_30d,
  ln(1 + c.employees) AS log_employees,
  greatest(coalesce(demo_requests_30d, 0) > 0, coalesce(pricing_views_30d, 0) >= 2)::DOUBLE AS high_intent_30d
FROM leads l LEFT JOIN accounts c ON c.account_id = l.account_id LEFT JOIN a ON a.lead_id = l.lead_id
WHERE l.created_at IS NULL OR l.created_at <= {as_of}
ORDER BY l.lead_id

"""The fictional company's CRM export in the shape of a Salesforce data export (one CSV per object).

Written from the flat export of the same run (same seed, same rows), so the mapping `leadops init
--export-format salesforce` writes must bring both shapes onto the same canonical rows. What makes it
relational, as a real org's export is:

- Account, and Lead with the standard conversion fields (IsConverted, ConvertedDate, ConvertedAccountId,
  ConvertedContactId, ConvertedOpportunityId); a converted lead's Department and consent flags live on its
  Contact (Sales keeps the Contact current; the Lead record froze at conversion), its account in
  ConvertedAccountId instead of the custom lookup Account__c;
- Task (emails, calls with CallType and CallDisposition, web visits with Page_URL__c, forms, social), Event
  (trade shows) and CampaignMember (webinar registrations and attendance, with newsletter sends that are not
  engagement), whose activity type is Type + Subject, or the Campaign's Type + the member's Status;
- LeadHistory (status changes: converted = SQL, not converted = disqualified, plus owner and working-status
  rows that are no outcome) and OpportunityHistory (the stages of the Opportunity created at conversion:
  Proposal = opportunity, Closed Won with Amount, Closed Lost) with Opportunity and OpportunityContactRole.

Ids are the flat export's (LEAD-..., ACT-..., OUT-...) where a Salesforce record is one canonical row.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from leadops.errors import ConfigError

FLAT_FILES = ("accounts.csv", "leads.csv", "activities.csv", "outcomes.csv")
SALESFORCE_FILES = (
    "Account.csv",
    "Contact.csv",
    "Lead.csv",
    "Campaign.csv",
    "CampaignMember.csv",
    "Task.csv",
    "Event.csv",
    "LeadHistory.csv",
    "Opportunity.csv",
    "OpportunityHistory.csv",
    "OpportunityContactRole.csv",
)

# activity type -> (Task Type, Subject); webinars are CampaignMembers, trade shows Events
TASK_KINDS: dict[str, tuple[str, str]] = {
    "email_open": ("Email", "Email Opened"),
    "email_click": ("Email", "Email Link Clicked"),
    "unsubscribe": ("Email", "Unsubscribed"),
    "page_view": ("Web Visit", "Page Visit"),
    "pricing_view": ("Web Visit", "Pricing Page Visit"),
    "careers_view": ("Web Visit", "Careers Page Visit"),
    "content_download": ("Web Form", "Content Download"),
    "demo_request": ("Web Form", "Demo Request"),
    "trial_start": ("Web Form", "Trial Signup"),
    "form_submit": ("Web Form", "Contact Us"),
    "social_engagement": ("Social", "Social Engagement"),
    "support_call": ("Call", "Support Call"),
}
SALES_TOUCH = {"Email": ("Email", "Sales Follow-up"), "Phone": ("Call", "Sales Call")}
WEBINAR = "CMP-WEBINARS"
NEWSLETTER = "CMP-NEWSLETTER"
LEAD_STATUS = {"sql": "Closed - Converted", "disqualified": "Closed - Not Converted"}
OPPORTUNITY_STAGES = {"Opportunity": "Proposal/Price Quote", "Closed Won": "Closed Won", "Closed Lost": "Closed Lost"}
OPENING_STAGE = "Qualification"


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _case(column: str, mapping: dict[str, str]) -> str:
    whens = " ".join(f"WHEN {_q(k)} THEN {_q(v)}" for k, v in mapping.items())
    return f"CASE {column} {whens} END"


def _number(flat_id: str, prefix: str) -> str:
    """The digits of a flat id (LEAD-00000042 -> 00000042) behind another object's prefix."""
    return f"{_q(prefix)} || split_part({flat_id}, '-', 2)"


def _queries() -> dict[str, str]:
    """One SELECT per Salesforce object over the flat tables a (accounts), l (leads), t (activities), o (outcomes)."""
    task_type = " ".join(f"WHEN {_q(k)} THEN {_q(v[0])}" for k, v in TASK_KINDS.items())
    task_subject = " ".join(f"WHEN {_q(k)} THEN {_q(v[1])}" for k, v in TASK_KINDS.items())
    sales_type = " ".join(f"WHEN {_q(k)} THEN {_q(v[0])}" for k, v in SALES_TOUCH.items())
    sales_subject = " ".join(f"WHEN {_q(k)} THEN {_q(v[1])}" for k, v in SALES_TOUCH.items())
    contact = _number("l.LeadId", "CON-")
    opportunity = _number("l.LeadId", "OPP-")
    return {
        "Account.csv": """
SELECT AccountId AS Id, AccountName AS Name, Industry, NumberOfEmployees, AnnualRevenue, BillingCountry,
       Region AS Region__c, ProfitableLastQuarter AS ProfitableLastQuarter__c, IsCompetitor AS IsCompetitor__c
FROM a ORDER BY AccountId""",
        "Contact.csv": f"""
SELECT {contact} AS Id, l.AccountId, l.Email, l.Department, l.HasOptedOutOfEmail, l.DoNotCall, l.OwnerId,
       s.OutcomeDate AS CreatedDate
FROM l JOIN sql_at s ON s.LeadId = l.LeadId ORDER BY l.LeadId""",
        "Lead.csv": f"""
SELECT l.LeadId AS Id, l.OwnerId, a.AccountName AS Company,
       CASE WHEN s.LeadId IS NULL THEN l.AccountId END AS Account__c, l.CreatedDate, l.Email,
       l.JobLevel AS Job_Level__c, CASE WHEN s.LeadId IS NULL THEN l.Department END AS Department, l.Country,
       l.LeadSource,
       CASE WHEN s.LeadId IS NOT NULL THEN {_q(LEAD_STATUS["sql"])}
            WHEN d.LeadId IS NOT NULL THEN {_q(LEAD_STATUS["disqualified"])}
            WHEN w.LeadId IS NOT NULL THEN 'Working - Contacted' ELSE 'Open - Not Contacted' END AS Status,
       CASE WHEN s.LeadId IS NULL THEN l.HasOptedOutOfEmail ELSE 'false' END AS HasOptedOutOfEmail,
       CASE WHEN s.LeadId IS NULL THEN l.DoNotCall ELSE 'false' END AS DoNotCall,
       CASE WHEN s.LeadId IS NULL THEN 'false' ELSE 'true' END AS IsConverted,
       s.OutcomeDate AS ConvertedDate,
       CASE WHEN s.LeadId IS NOT NULL THEN l.AccountId END AS ConvertedAccountId,
       CASE WHEN s.LeadId IS NOT NULL THEN {contact} END AS ConvertedContactId,
       CASE WHEN s.LeadId IS NOT NULL THEN {opportunity} END AS ConvertedOpportunityId
FROM l LEFT JOIN a ON a.AccountId = l.AccountId LEFT JOIN sql_at s ON s.LeadId = l.LeadId
LEFT JOIN (SELECT DISTINCT LeadId FROM o WHERE Stage = 'Disqualified') d ON d.LeadId = l.LeadId
LEFT JOIN worked w ON w.LeadId = l.LeadId
ORDER BY l.LeadId""",
        "Campaign.csv": f"""
SELECT * FROM (VALUES ({_q(WEBINAR)}, 'Product webinars', 'Webinar', 'Active'),
                      ({_q(NEWSLETTER)}, 'Monthly newsletter', 'Email', 'Active'))
    AS c(Id, Name, Type, Status)""",
        "CampaignMember.csv": f"""
SELECT ActivityId AS Id, {_q(WEBINAR)} AS CampaignId, LeadId,
       CASE ActivityType WHEN 'webinar_registration' THEN 'Registered' ELSE 'Attended' END AS Status,
       CASE ActivityType WHEN 'webinar_registration' THEN 'false' ELSE 'true' END AS HasResponded,
       ActivityDate AS CreatedDate, Value AS Minutes_Attended__c
FROM t WHERE ActivityType IN ('webinar_registration', 'webinar_attendance')
UNION ALL
SELECT {_number("LeadId", "CMS-")}, {_q(NEWSLETTER)}, LeadId, 'Sent', 'false', CreatedDate, NULL
FROM l WHERE HasOptedOutOfEmail = 'false'
ORDER BY Id""",
        "Task.csv": f"""
SELECT ActivityId AS Id, LeadId AS WhoId, l_owner.OwnerId,
       CASE WHEN ActivityType = 'sales_touch' THEN CASE Channel {sales_type} END ELSE CASE ActivityType {task_type} END
       END AS Type,
       CASE WHEN ActivityType = 'sales_touch' THEN CASE Channel {sales_subject} END
            ELSE CASE ActivityType {task_subject} END END AS Subject,
       'Completed' AS Status, 'Normal' AS Priority, left(ActivityDate, 10) AS ActivityDate,
       ActivityDate AS CompletedDateTime, Direction AS CallType, Outcome AS CallDisposition,
       Page AS Page_URL__c, Value AS Value__c
FROM t JOIN (SELECT LeadId AS lead, OwnerId FROM l) l_owner ON l_owner.lead = t.LeadId
WHERE ActivityType NOT IN ('webinar_registration', 'webinar_attendance', 'event_attendance')
ORDER BY ActivityId""",
        "Event.csv": """
SELECT ActivityId AS Id, LeadId AS WhoId, 'Trade Show' AS Type, 'Visited our booth' AS Subject,
       left(ActivityDate, 10) AS ActivityDate, ActivityDate AS ActivityDateTime, Value AS Value__c
FROM t WHERE ActivityType = 'event_attendance' ORDER BY ActivityId""",
        "LeadHistory.csv": f"""
SELECT OutcomeId AS Id, LeadId, OutcomeDate AS CreatedDate, 'Status' AS Field, 'Working - Contacted' AS OldValue,
       CASE Stage WHEN 'SQL' THEN {_q(LEAD_STATUS["sql"])} ELSE {_q(LEAD_STATUS["disqualified"])} END AS NewValue
FROM o WHERE Stage IN ('SQL', 'Disqualified')
UNION ALL
SELECT {_number("LeadId", "LHW-")}, LeadId, first_touch, 'Status', 'Open - Not Contacted', 'Working - Contacted'
FROM worked
UNION ALL
SELECT {_number("LeadId", "LHO-")}, LeadId, CreatedDate, 'Owner', NULL, OwnerId FROM l
ORDER BY Id""",
        "Opportunity.csv": f"""
SELECT {opportunity} AS Id, l.AccountId, 'Acme Analytics for ' || coalesce(a.AccountName, l.AccountId) AS Name,
       l.OwnerId, l.LeadSource, s.OutcomeDate AS CreatedDate,
       coalesce(c.Stage, CASE WHEN p.LeadId IS NOT NULL THEN 'Proposal/Price Quote' ELSE {_q(OPENING_STAGE)} END)
           AS StageName,
       CASE WHEN c.LeadId IS NULL THEN 'false' ELSE 'true' END AS IsClosed,
       CASE WHEN c.Stage = 'Closed Won' THEN 'true' ELSE 'false' END AS IsWon,
       c.Amount, left(c.OutcomeDate, 10) AS CloseDate
FROM l JOIN sql_at s ON s.LeadId = l.LeadId LEFT JOIN a ON a.AccountId = l.AccountId
LEFT JOIN (SELECT * FROM o WHERE Stage IN ('Closed Won', 'Closed Lost')) c ON c.LeadId = l.LeadId
LEFT JOIN (SELECT DISTINCT LeadId FROM o WHERE Stage = 'Opportunity') p ON p.LeadId = l.LeadId
ORDER BY l.LeadId""",
        "OpportunityHistory.csv": f"""
SELECT o.OutcomeId AS Id, {_number("o.LeadId", "OPP-")} AS OpportunityId, o.OutcomeDate AS CreatedDate,
       {_case("o.Stage", OPPORTUNITY_STAGES)} AS StageName, o.Amount,
       CASE WHEN o.Stage LIKE 'Closed%' THEN left(o.OutcomeDate, 10) END AS CloseDate
FROM o WHERE o.Stage IN ('Opportunity', 'Closed Won', 'Closed Lost')
UNION ALL
SELECT {_number("LeadId", "OHQ-")}, {_number("LeadId", "OPP-")}, OutcomeDate, {_q(OPENING_STAGE)}, NULL, NULL
FROM sql_at
ORDER BY Id""",
        "OpportunityContactRole.csv": f"""
SELECT {_number("l.LeadId", "OCR-")} AS Id, {opportunity} AS OpportunityId, {contact} AS ContactId,
       'Decision Maker' AS Role, 'true' AS IsPrimary
FROM l JOIN sql_at s ON s.LeadId = l.LeadId ORDER BY l.LeadId""",
    }


def write_salesforce(source: Path, *, remove_flat: bool = True) -> dict[str, Path]:
    """Turn the flat export in `source` into the Salesforce-shaped one (and drop the flat files); return the files."""
    import duckdb

    missing = [f for f in FLAT_FILES if not (source / f).is_file()]
    if missing:
        raise ConfigError(f"the Salesforce export is written from the company's flat export; {missing} are missing")
    spill = tempfile.TemporaryDirectory(prefix="salesforce-", dir=source)
    # bounded memory whatever the company's size: sorts larger than this spill to a folder next to the export
    con = duckdb.connect(":memory:", config={"threads": 2, "memory_limit": "1GB", "temp_directory": spill.name})
    try:
        for alias, name in zip("alto", FLAT_FILES, strict=True):
            path = str(source / name).replace("'", "''")
            con.execute(
                f"CREATE VIEW {alias} AS SELECT * FROM read_csv('{path}', all_varchar = true, header = true, "
                "quote = '\"', escape = '\"', delim = ',')"
            )
        con.execute("CREATE TEMP TABLE sql_at AS SELECT LeadId, OutcomeDate FROM o WHERE Stage = 'SQL'")
        con.execute(
            "CREATE TEMP TABLE worked AS SELECT LeadId, min(ActivityDate) AS first_touch FROM t "
            "WHERE ActivityType = 'sales_touch' GROUP BY LeadId"
        )
        files: dict[str, Path] = {}
        for name, query in _queries().items():
            target = source / name
            out = str(target).replace("'", "''")
            con.execute(f"COPY ({query}) TO '{out}' (FORMAT csv, HEADER true)")
            files[name.removesuffix(".csv")] = target
    finally:
        con.close()
        spill.cleanup()
    if remove_flat:
        for name in FLAT_FILES:
            (source / name).unlink()
    return files


def remove_salesforce(source: Path) -> None:
    """Delete a Salesforce-shaped export left by an earlier run (the flat one replaces it)."""
    for name in SALESFORCE_FILES:
        (source / name).unlink(missing_ok=True)

//! Word lists. Anything used as free text must stay ASCII: the last line of a file is cut
//! to an exact byte length.

#[rustfmt::skip]
pub(super) const WORDS: &[&str] = &[
    "a", "the", "and", "of", "to", "for", "with", "on", "by", "from", "in", "is", "are", "was",
    "will", "should", "must", "may", "each", "all", "new", "our", "this", "that", "after",
    "before", "quarterly", "revenue", "customer", "invoice", "supplier", "shipment",
    "warehouse", "forecast", "budget", "compliance", "audit", "backup", "recovery", "server",
    "contract", "renewal", "pricing", "discount", "margin", "inventory", "payroll",
    "onboarding", "migration", "deadline", "review", "approval", "policy", "risk", "incident",
    "outage", "capacity", "network", "license", "vendor", "delivery", "schedule", "meeting",
    "proposal", "estimate", "project", "milestone", "report", "analysis", "growth", "retention",
    "support", "ticket", "escalation", "priority", "service", "agreement", "terms", "liability",
    "payment", "account", "balance", "statement", "tax", "filing", "office", "lease",
    "insurance", "claim", "equipment", "maintenance", "training", "staff", "hiring", "expense",
    "travel", "reimbursement", "strategy", "market", "segment", "partner", "channel",
    "campaign", "launch", "product", "feature", "release", "quality", "defect", "test",
    "security", "access", "encryption", "storage", "archive", "disaster", "continuity", "plan",
    "restore", "drill", "objective", "owner", "team", "department", "region", "branch",
    "annual", "monthly", "weekly", "critical", "minor", "pending", "approved", "overdue",
    "completed", "data", "offsite", "copy", "cost", "target", "order", "stock", "shipping",
    "contact", "email", "laptop", "printer", "firewall", "update",
];

#[rustfmt::skip]
pub(super) const GERMAN_WORDS: &[&str] = &[
    "Rechnung", "Miete", "Gehalt", "Leasingrate", "Versicherung", "Beitrag", "Lieferung",
    "Wartung", "Abschlag", "Strom", "Gutschrift", "Erstattung", "Kundennummer", "Vertrag",
    "Quartal", "Porto", "Lizenz", "Reparatur", "Nebenkosten", "Dauerauftrag", "Lastschrift",
    "Anzahlung", "Restbetrag", "Auftrag", "Projekt", "Hosting", "Telefon", "Internet", "und",
    "per", "bis", "Nr", "Abo", "Kto",
];

#[rustfmt::skip]
pub(super) const FIRST_NAMES: &[&str] = &[
    "Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hannah", "Ivan", "Jonas",
    "Katrin", "Lukas", "Maria", "Noah", "Olga", "Paul", "Rania", "Sofia", "Tobias", "Ute",
    "Viktor", "Wei", "Yusuf", "Zoë", "Jürgen", "Søren", "Chloé", "Mateo", "Priya", "Kenji",
];

#[rustfmt::skip]
pub(super) const LAST_NAMES: &[&str] = &[
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun",
    "Krüger", "Hartmann", "Lange", "Smith", "Johnson", "Garcia", "Nguyen", "Kowalski", "Rossi",
    "Dubois", "Yamamoto", "Okafor", "Andersson",
];

pub(super) const CITIES: &[(&str, &str)] = &[
    ("Berlin", "DE"),
    ("Hamburg", "DE"),
    ("München", "DE"),
    ("Köln", "DE"),
    ("Frankfurt am Main", "DE"),
    ("Stuttgart", "DE"),
    ("Düsseldorf", "DE"),
    ("Leipzig", "DE"),
    ("Nürnberg", "DE"),
    ("Wien", "AT"),
    ("Graz", "AT"),
    ("Zürich", "CH"),
    ("Amsterdam", "NL"),
    ("Paris", "FR"),
    ("Lyon", "FR"),
    ("London", "GB"),
    ("Kraków", "PL"),
    ("Milano", "IT"),
    ("København", "DK"),
];

pub(super) const COMPANIES: &[&str] = &[
    "Acme GmbH",
    "Nordlicht Logistik AG",
    "Bergmann & Söhne KG",
    "Helios Energy Ltd",
    "Blue Harbor Trading",
    "Kaiser Bau GmbH",
    "Lumen Optics BV",
    "Fjord Foods AS",
    "Alpen Software AG",
    "Rheinwerk Metall GmbH",
    "Sunrise Dental Clinic",
    "Orbit Freight Services",
    "Weißdorn Apotheke",
    "Quantum Print & Copy",
    "Greenleaf Gardens",
];

pub(super) const ACCOUNTS: &[&str] = &[
    "1200 Bank",
    "1400 Receivables",
    "1600 Payables",
    "4000 Revenue",
    "6000 Wages",
    "6300 Rent",
    "6800 Office supplies",
    "6805 Software",
    "6810 Telephone",
    "6815 Travel",
    "6830 Insurance",
    "6840 IT services",
];

pub(super) const BICS: &[&str] = &[
    "COBADEFFXXX",
    "DEUTDEDBXXX",
    "INGDDEFFXXX",
    "GENODEF1S04",
    "BYLADEM1001",
    "SSKMDEMMXXX",
];

pub(super) const CONTRACT_SECTIONS: &[&str] = &[
    "Subject matter",
    "Term and termination",
    "Fees and payment",
    "Service levels",
    "Data protection",
    "Confidentiality",
    "Liability",
    "Backup and recovery obligations",
    "Subcontractors",
    "Final provisions",
];

pub(super) const REGIONS: &[&str] = &["North", "South", "East", "West", "Online", "Export"];

pub(super) const TAGS: &[&str] = &[
    "wholesale",
    "retail",
    "newsletter",
    "key-account",
    "late-payer",
    "eu",
    "partner",
];

pub(super) const EVENT_TYPES: &[&str] = &[
    "order.created",
    "order.paid",
    "order.shipped",
    "invoice.sent",
    "invoice.overdue",
    "customer.updated",
    "ticket.opened",
    "ticket.closed",
];

#[rustfmt::skip]
pub(super) const COMPONENTS: &[&str] = &[
    "http", "db", "scheduler", "billing", "auth", "backup", "mailer", "worker-1", "worker-2",
];

pub(super) const URL_PATHS: &[&str] = &[
    "/",
    "/login",
    "/api/v1/orders",
    "/api/v1/orders/",
    "/api/v1/customers/",
    "/static/app.3f9c2e.js",
    "/static/logo.png",
    "/reports/q1-2026.pdf",
    "/health",
];

pub(super) const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "curl/8.7.1",
    "firedrill-healthcheck/1.0",
];

#[rustfmt::skip]
pub(super) const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

pub(super) const DUMP_TABLES: &[(&str, &str)] = &[
    (
        "orders",
        "id, customer_id, created_at, status, total_cents, currency, ship_city",
    ),
    ("order_items", "id, order_id, sku, quantity, unit_cents"),
    ("customers", "id, name, email, city, country, created_at"),
    (
        "stock_movements",
        "id, sku, warehouse, delta, moved_at, reason",
    ),
];

pub(super) const DUMP_HEADER: &str = "--
-- ERP database dump
-- Dumped at 2026-03-31 02:00:00 UTC
--

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

CREATE TABLE public.orders (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    created_at timestamp NOT NULL,
    status text NOT NULL,
    total_cents bigint NOT NULL,
    currency char(3) NOT NULL,
    ship_city text
);

CREATE TABLE public.order_items (
    id bigint PRIMARY KEY,
    order_id bigint NOT NULL,
    sku text NOT NULL,
    quantity integer NOT NULL,
    unit_cents bigint NOT NULL
);

CREATE TABLE public.customers (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL,
    city text,
    country char(2),
    created_at timestamp NOT NULL
);

CREATE TABLE public.stock_movements (
    id bigint PRIMARY KEY,
    sku text NOT NULL,
    warehouse text NOT NULL,
    delta integer NOT NULL,
    moved_at timestamp NOT NULL,
    reason text
);

";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_word_lists_are_ascii() {
        for list in [WORDS, GERMAN_WORDS] {
            assert!(list.iter().all(|w| w.is_ascii() && !w.is_empty()));
        }
    }
}

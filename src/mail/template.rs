//! The notification mail: the policy's `notificationContent` HTML, or easgate's own template,
//! with the device's details filled in (HTML-escaped).

use crate::mail::Mail;

/// Placeholders an admin's template may use.
pub const PLACEHOLDERS: [&str; 5] = ["{user}", "{device_id}", "{device_type}", "{device_model}", "{enrollment_url}"];

/// Where users enrol by default (Company Portal).
pub const ENROLLMENT_URL_DEFAULT: &str = "https://portal.manage.microsoft.com/";

const DEFAULT_TEMPLATE: &str = "<html><body>\
<p>Hello {user},</p>\
<p>Your device <b>{device_type} {device_model}</b> (ID {device_id}) cannot reach your company mail yet: \
it must be enrolled in device management and meet the company's policies.</p>\
<p><a href=\"{enrollment_url}\">Get started: enrol your device</a>, then activate email on it. \
Mail reaches the device automatically once it is compliant.</p>\
</body></html>";

/// The details of the device a mail is about.
#[derive(Debug, Clone, Copy)]
pub struct MailFacts<'a> {
    pub to: &'a str,
    pub user: &'a str,
    pub device_id: &'a str,
    pub device_type: &'a str,
    pub device_model: &'a str,
    pub enrollment_url: &'a str,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// The mail for a denied device. `template` is the policy's HTML (empty for easgate's).
pub fn render(template: &str, facts: MailFacts<'_>) -> Mail {
    let template = if template.trim().is_empty() { DEFAULT_TEMPLATE } else { template };
    let values = [facts.user, facts.device_id, facts.device_type, facts.device_model, facts.enrollment_url];
    let mut html_body = template.to_string();
    for (placeholder, value) in PLACEHOLDERS.iter().zip(values) {
        html_body = html_body.replace(placeholder, &escape_html(value));
    }
    Mail {
        to: facts.to.to_string(),
        subject: format!("Action needed: enrol your device {} to get company mail", facts.device_id),
        html_body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_details_are_escaped_into_the_template() {
        let facts = MailFacts {
            to: "alice@contoso.com",
            user: "Alice",
            device_id: "x\"><script>",
            device_type: "iPhone",
            device_model: "15",
            enrollment_url: ENROLLMENT_URL_DEFAULT,
        };
        let mail = render("", facts);
        assert!(mail.html_body.contains("x&quot;&gt;&lt;script&gt;"));
        assert!(!mail.html_body.contains("<script>"));
        assert!(mail.html_body.contains(ENROLLMENT_URL_DEFAULT));
        let custom = render("<p>{user}: {device_id}</p>", facts);
        assert_eq!(custom.html_body, "<p>Alice: x&quot;&gt;&lt;script&gt;</p>");
    }
}

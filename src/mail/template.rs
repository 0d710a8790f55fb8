//! The quarantine notification: the policy's `notificationContent` HTML, or easgate's own
//! template, with placeholders filled in. Placeholder values (device details, which come from
//! the device itself and can hold anything) are always HTML-escaped; the admin's HTML is not.
//!
//! Placeholders: `{{Mailbox}}`, `{{DeviceId}}`, `{{DeviceType}}`, `{{DeviceModel}}`,
//! `{{DeviceOS}}`, `{{EnrollmentUrl}}`. Unknown ones are left as written. A policy HTML without
//! `{{EnrollmentUrl}}` gets the device and the link added, so no mail goes out without them.

use quick_xml::escape::escape;

use crate::mail::Mail;

/// The Intune Company Portal website, where enrolment starts.
pub const DEFAULT_ENROLLMENT_URL: &str = "https://portal.manage.microsoft.com/";
/// Placeholders in one template; more are left unexpanded.
const MAX_PLACEHOLDERS: usize = 1_000;

/// The device and user the mail is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotificationDetails {
    pub mailbox: String,
    pub device_id: String,
    pub device_type: String,
    pub device_model: String,
    pub device_os: String,
    /// Where the user enrols; only http(s) URLs are used, anything else becomes the default.
    pub enrollment_url: String,
}

pub const DEFAULT_TEMPLATE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Your device cannot reach your mailbox yet</title></head>
<body style="font-family: Segoe UI, Arial, sans-serif; font-size: 14px;">
<p>Your device cannot sync mail from <b>{{Mailbox}}</b> until it is enrolled in device management and meets your organisation's requirements.</p>
<table style="border-collapse: collapse;">
<tr><td style="padding-right: 12px;">Device</td><td>{{DeviceModel}} ({{DeviceType}})</td></tr>
<tr><td style="padding-right: 12px;">Operating system</td><td>{{DeviceOS}}</td></tr>
<tr><td style="padding-right: 12px;">Device ID</td><td>{{DeviceId}}</td></tr>
</table>
<p><a href="{{EnrollmentUrl}}">Get started: enrol this device</a></p>
<p>After enrolling, open the Company Portal and choose <i>Activate email</i>. Mail starts to sync within minutes once the device is compliant.</p>
<p>This message was sent by your organisation's mail access service (easgate). Read it from another device or the web, since the blocked device cannot receive it.</p>
</body></html>
"#;

/// The subject line (plain text; EWS escapes it on the wire).
pub fn notification_subject(details: &NotificationDetails) -> String {
    let model = if details.device_model.trim().is_empty() { "device" } else { details.device_model.trim() };
    format!("Action required: enrol your {model} to get your mail")
}

/// Added to the policy's HTML when it has no `{{EnrollmentUrl}}` of its own: the mail always
/// carries the enrolment link and says which device it is about (DESIGN section 2).
const ENROLLMENT_FOOTER: &str = r#"<p>Device: {{DeviceModel}} ({{DeviceType}}), {{DeviceOS}}, ID {{DeviceId}}</p>
<p><a href="{{EnrollmentUrl}}">Get started: enrol this device</a></p>
"#;

/// The HTML body: `policy_html` if the policy has one, else easgate's template, filled in.
pub fn notification_html(policy_html: &str, details: &NotificationDetails) -> String {
    if policy_html.trim().is_empty() {
        return fill_placeholders(DEFAULT_TEMPLATE, details);
    }
    if policy_html.contains("{{EnrollmentUrl}}") {
        return fill_placeholders(policy_html, details);
    }
    // Before the admin's closing </body> if there is one, else at the end.
    let insert_at = policy_html.to_ascii_lowercase().rfind("</body>").unwrap_or(policy_html.len());
    let template = format!("{}{ENROLLMENT_FOOTER}{}", &policy_html[..insert_at], &policy_html[insert_at..]);
    fill_placeholders(&template, details)
}

/// The mail to send to `to` about the device.
pub fn notification_mail(to: &str, policy_html: &str, details: &NotificationDetails) -> Mail {
    Mail {
        to: to.to_string(),
        subject: notification_subject(details),
        html_body: notification_html(policy_html, details),
    }
}

fn enrollment_url(details: &NotificationDetails) -> &str {
    match url::Url::parse(details.enrollment_url.trim()) {
        Ok(url) if url.scheme() == "https" || url.scheme() == "http" => details.enrollment_url.trim(),
        _ => DEFAULT_ENROLLMENT_URL,
    }
}

fn placeholder_value<'a>(name: &str, details: &'a NotificationDetails) -> Option<&'a str> {
    Some(match name {
        "Mailbox" => &details.mailbox,
        "DeviceId" => &details.device_id,
        "DeviceType" => &details.device_type,
        "DeviceModel" => &details.device_model,
        "DeviceOS" => &details.device_os,
        "EnrollmentUrl" => enrollment_url(details),
        _ => return None,
    })
}

/// One pass over the template, so a value that itself looks like a placeholder stays text.
fn fill_placeholders(template: &str, details: &NotificationDetails) -> String {
    let mut output = String::with_capacity(template.len() + 256);
    let mut rest = template;
    for _ in 0..MAX_PLACEHOLDERS {
        let Some(open) = rest.find("{{") else { break };
        let Some(close) = rest[open + 2..].find("}}").map(|offset| open + 2 + offset) else { break };
        output.push_str(&rest[..open]);
        let name = rest[open + 2..close].trim();
        match placeholder_value(name, details) {
            Some(value) => output.push_str(&escape(value)),
            None => output.push_str(&rest[open..close + 2]),
        }
        rest = &rest[close + 2..];
    }
    output.push_str(rest);
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hostile_details() -> NotificationDetails {
        NotificationDetails {
            mailbox: "alice@contoso.com".into(),
            device_id: "x\"; Remove-Mailbox -Identity *; \"<script>".into(),
            device_type: "iPhone".into(),
            device_model: "{{Mailbox}}".into(),
            device_os: "iOS 17 & <b>".into(),
            enrollment_url: "javascript:alert(1)".into(),
        }
    }

    #[test]
    fn default_template_escapes_device_details_and_keeps_a_safe_link() {
        let html = notification_html("", &hostile_details());
        assert!(html.contains("x&quot;; Remove-Mailbox -Identity *; &quot;&lt;script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("iOS 17 &amp; &lt;b&gt;"));
        assert!(html.contains(r#"href="https://portal.manage.microsoft.com/""#));
        // A value that looks like a placeholder is not expanded again.
        assert!(html.contains("{{Mailbox}} (iPhone)"));
    }

    #[test]
    fn the_policy_html_is_used_with_placeholders_filled() {
        let mut details = hostile_details();
        details.enrollment_url = "https://enroll.contoso.com/start?a=1&b=2".into();
        let html = notification_html("<p>Enrol: <a href=\"{{EnrollmentUrl}}\">here</a> {{Unknown}}</p>", &details);
        assert_eq!(html, "<p>Enrol: <a href=\"https://enroll.contoso.com/start?a=1&amp;b=2\">here</a> {{Unknown}}</p>");
    }

    #[test]
    fn policy_html_without_a_link_gets_the_link_and_the_device_before_its_body_end() {
        let mut details = hostile_details();
        details.device_id = "ApplF17LTTCGFFG8".into();
        let html = notification_html("<html><body><p>Please enrol your phone.</p></BODY></html>", &details);
        let link = html.find(r#"href="https://portal.manage.microsoft.com/""#).expect("the enrolment link");
        assert!(html.contains("ID ApplF17LTTCGFFG8"), "{html}");
        assert!(html.find("Please enrol").unwrap() < link && link < html.find("</BODY>").unwrap(), "{html}");
        let bare = notification_html("Please enrol.", &details);
        assert!(bare.starts_with("Please enrol.<p>Device: "), "{bare}");
    }
}

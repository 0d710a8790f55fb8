//! OPATH `-Filter` strings as Exchange evaluates them on the server: comparisons
//! (`-eq -ne -lt -gt -le -ge -like -notlike`) of a filterable property with a quoted value,
//! `$true`/`$false`/`$null`, combined with `-and`, `-or`, `-not` and parentheses. Property names
//! are checked against the cmdlet's filterable properties; values are typed by the property.

use chrono::{DateTime, Utc};

use crate::exchange::cmdlets::parse_date_time;

/// Filters longer than this are refused rather than parsed.
const MAX_FILTER_CHARS: usize = 32 * 1024;
/// Parenthesis and `-not` nesting deeper than this is refused.
const MAX_NESTING: usize = 32;

/// The type of a filterable property, which decides how its values are read and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Text,
    Bool,
    Date,
    /// A multi-valued property: a comparison holds when it holds for any value.
    TextList,
}

/// A property's value on one object.
pub(crate) enum FieldValue<'a> {
    Text(&'a str),
    Bool(bool),
    Date(Option<DateTime<Utc>>),
    TextList(&'a [String]),
}

/// Why a filter was refused, in Exchange's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterError {
    pub(crate) message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Like,
    NotLike,
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Text(String),
    Bool(bool),
    Date(DateTime<Utc>),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Or(Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Compare { property: &'static str, operator: Operator, literal: Literal },
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Filter {
    root: Node,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    /// `-eq`, `-and`... lower-cased, without the dash.
    Operator(String),
    Word(String),
    Quoted(String),
}

impl Filter {
    pub(crate) fn parse(text: &str, properties: &'static [(&'static str, FieldType)]) -> Result<Filter, FilterError> {
        if text.len() > MAX_FILTER_CHARS {
            return Err(invalid(text, MAX_FILTER_CHARS));
        }
        // A script block's braces (`{DeviceAccessState -eq 'Quarantined'}`) are not part of it.
        let trimmed = text.trim();
        let inner = trimmed.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')).unwrap_or(trimmed);
        let tokens = tokenize(inner).map_err(|position| invalid(text, position))?;
        let mut parser = Parser { tokens, position: 0, properties, text };
        let root = parser.or_expression(0)?;
        if parser.position != parser.tokens.len() {
            return Err(invalid(text, parser.position));
        }
        Ok(Filter { root })
    }

    /// Whether an object matches; `field` gives the value of a (canonically named) property.
    pub(crate) fn matches<'a>(&self, field: &impl Fn(&str) -> FieldValue<'a>) -> bool {
        matches_node(&self.root, field)
    }
}

fn invalid(text: &str, position: usize) -> FilterError {
    FilterError {
        message: format!(
            "Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\": \"Invalid filter syntax. For a description of the filter parameter syntax see the command help.\n\"{text}\" at position {}.\"",
            position + 1
        ),
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, usize> {
    let characters: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        match character {
            c if c.is_whitespace() => index += 1,
            '(' => {
                tokens.push(Token::Open);
                index += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                index += 1;
            }
            '\'' | '"' => {
                let (value, next) = quoted(&characters, index)?;
                tokens.push(Token::Quoted(value));
                index = next;
            }
            '-' if characters.get(index + 1).is_some_and(|c| c.is_ascii_alphabetic()) => {
                let end = run_end(&characters, index + 1, |c| c.is_ascii_alphabetic());
                tokens.push(Token::Operator(characters[index + 1..end].iter().collect::<String>().to_lowercase()));
                index = end;
            }
            _ => {
                let end = run_end(&characters, index, |c| !c.is_whitespace() && c != '(' && c != ')');
                tokens.push(Token::Word(characters[index..end].iter().collect()));
                index = end;
            }
        }
    }
    Ok(tokens)
}

fn run_end(characters: &[char], start: usize, keep: impl Fn(char) -> bool) -> usize {
    let mut end = start;
    while end < characters.len() && keep(characters[end]) {
        end += 1;
    }
    end
}

/// A quoted value: the quote doubled (or, in double quotes, escaped with a backtick) is a
/// literal quote. Returns the value and the index after the closing quote.
fn quoted(characters: &[char], start: usize) -> Result<(String, usize), usize> {
    let quote = characters[start];
    let mut value = String::new();
    let mut index = start + 1;
    while index < characters.len() {
        let character = characters[index];
        if quote == '"' && character == '`' && index + 1 < characters.len() {
            value.push(characters[index + 1]);
            index += 2;
            continue;
        }
        if character == quote {
            if characters.get(index + 1) == Some(&quote) {
                value.push(quote);
                index += 2;
                continue;
            }
            return Ok((value, index + 1));
        }
        value.push(character);
        index += 1;
    }
    Err(start)
}

struct Parser<'t> {
    tokens: Vec<Token>,
    position: usize,
    properties: &'static [(&'static str, FieldType)],
    text: &'t str,
}

impl Parser<'_> {
    fn peek_operator(&self, name: &str) -> bool {
        matches!(self.tokens.get(self.position), Some(Token::Operator(operator)) if operator == name)
    }

    fn or_expression(&mut self, depth: usize) -> Result<Node, FilterError> {
        let mut node = self.and_expression(depth)?;
        while self.peek_operator("or") {
            self.position += 1;
            node = Node::Or(Box::new(node), Box::new(self.and_expression(depth)?));
        }
        Ok(node)
    }

    fn and_expression(&mut self, depth: usize) -> Result<Node, FilterError> {
        let mut node = self.unary(depth)?;
        while self.peek_operator("and") {
            self.position += 1;
            node = Node::And(Box::new(node), Box::new(self.unary(depth)?));
        }
        Ok(node)
    }

    fn unary(&mut self, depth: usize) -> Result<Node, FilterError> {
        if depth > MAX_NESTING {
            return Err(invalid(self.text, self.position));
        }
        if self.peek_operator("not") {
            self.position += 1;
            return Ok(Node::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.tokens.get(self.position) == Some(&Token::Open) {
            self.position += 1;
            let node = self.or_expression(depth + 1)?;
            if self.tokens.get(self.position) != Some(&Token::Close) {
                return Err(invalid(self.text, self.position));
            }
            self.position += 1;
            return Ok(node);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Node, FilterError> {
        let Some(Token::Word(name)) = self.tokens.get(self.position).cloned() else {
            return Err(invalid(self.text, self.position));
        };
        let Some(&(property, field_type)) = self.properties.iter().find(|(known, _)| known.eq_ignore_ascii_case(&name))
        else {
            return Err(FilterError {
                message: format!(
                    "Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\": \"'{name}' is not a recognized filterable property.\""
                ),
            });
        };
        let operator = match self.tokens.get(self.position + 1) {
            Some(Token::Operator(operator)) => parse_operator(operator),
            _ => None,
        };
        let Some(operator) = operator else {
            return Err(invalid(self.text, self.position + 1));
        };
        let raw = match self.tokens.get(self.position + 2) {
            Some(Token::Quoted(value)) => RawValue::Quoted(value.clone()),
            Some(Token::Word(value)) => RawValue::Bare(value.clone()),
            _ => return Err(invalid(self.text, self.position + 2)),
        };
        let literal = typed_literal(property, field_type, operator, raw)?;
        self.position += 3;
        Ok(Node::Compare { property, operator, literal })
    }
}

enum RawValue {
    Quoted(String),
    Bare(String),
}

fn parse_operator(operator: &str) -> Option<Operator> {
    Some(match operator {
        "eq" => Operator::Eq,
        "ne" => Operator::Ne,
        "lt" => Operator::Lt,
        "gt" => Operator::Gt,
        "le" => Operator::Le,
        "ge" => Operator::Ge,
        "like" => Operator::Like,
        "notlike" => Operator::NotLike,
        _ => return None,
    })
}

fn typed_literal(
    property: &str,
    field_type: FieldType,
    operator: Operator,
    raw: RawValue,
) -> Result<Literal, FilterError> {
    let (text, bare) = match raw {
        RawValue::Quoted(text) => (text, false),
        RawValue::Bare(text) => (text, true),
    };
    if bare && text.eq_ignore_ascii_case("$null") {
        return Ok(Literal::Null);
    }
    let cannot_convert = |expected: &str| FilterError {
        message: format!(
            "Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\": \"The value \"{text}\" could not be converted to type {expected} for property {property}.\""
        ),
    };
    match field_type {
        FieldType::Text | FieldType::TextList => Ok(Literal::Text(text.clone())),
        FieldType::Bool => {
            let is_like = matches!(operator, Operator::Like | Operator::NotLike);
            // `` `$true `` is the PowerShell-escaped spelling copied from documentation.
            match text.trim_start_matches('`').trim_start_matches('$').to_ascii_lowercase().as_str() {
                "true" if !is_like => Ok(Literal::Bool(true)),
                "false" if !is_like => Ok(Literal::Bool(false)),
                _ => Err(cannot_convert("System.Boolean")),
            }
        }
        FieldType::Date => parse_date_time(&text).map(Literal::Date).ok_or_else(|| cannot_convert("System.DateTime")),
    }
}

fn matches_node<'a>(node: &Node, field: &impl Fn(&str) -> FieldValue<'a>) -> bool {
    match node {
        Node::Or(left, right) => matches_node(left, field) || matches_node(right, field),
        Node::And(left, right) => matches_node(left, field) && matches_node(right, field),
        Node::Not(inner) => !matches_node(inner, field),
        Node::Compare { property, operator, literal } => compare(&field(property), *operator, literal),
    }
}

fn compare(value: &FieldValue<'_>, operator: Operator, literal: &Literal) -> bool {
    match (value, literal) {
        (FieldValue::Text(text), Literal::Null) => null_test(text.is_empty(), operator),
        (FieldValue::Text(text), Literal::Text(expected)) => compare_text(text, operator, expected),
        (FieldValue::TextList(values), Literal::Null) => null_test(values.is_empty(), operator),
        (FieldValue::TextList(values), Literal::Text(expected)) => match operator {
            Operator::Ne => !values.iter().any(|value| compare_text(value, Operator::Eq, expected)),
            Operator::NotLike => !values.iter().any(|value| compare_text(value, Operator::Like, expected)),
            _ => values.iter().any(|value| compare_text(value, operator, expected)),
        },
        (FieldValue::Bool(flag), Literal::Bool(expected)) => match operator {
            Operator::Eq => flag == expected,
            Operator::Ne => flag != expected,
            _ => false,
        },
        (FieldValue::Date(time), Literal::Null) => null_test(time.is_none(), operator),
        (FieldValue::Date(Some(time)), Literal::Date(expected)) => match operator {
            Operator::Eq => time == expected,
            Operator::Ne => time != expected,
            Operator::Lt => time < expected,
            Operator::Gt => time > expected,
            Operator::Le => time <= expected,
            Operator::Ge => time >= expected,
            Operator::Like | Operator::NotLike => false,
        },
        _ => false,
    }
}

fn null_test(is_empty: bool, operator: Operator) -> bool {
    match operator {
        Operator::Eq => is_empty,
        Operator::Ne => !is_empty,
        _ => false,
    }
}

fn compare_text(text: &str, operator: Operator, expected: &str) -> bool {
    let ordering = || text.to_lowercase().cmp(&expected.to_lowercase());
    match operator {
        Operator::Eq => text.eq_ignore_ascii_case(expected) || text.to_lowercase() == expected.to_lowercase(),
        Operator::Ne => !compare_text(text, Operator::Eq, expected),
        Operator::Lt => ordering().is_lt(),
        Operator::Gt => ordering().is_gt(),
        Operator::Le => ordering().is_le(),
        Operator::Ge => ordering().is_ge(),
        Operator::Like => wildcard_match(&text.to_lowercase(), &expected.to_lowercase()),
        Operator::NotLike => !wildcard_match(&text.to_lowercase(), &expected.to_lowercase()),
    }
}

/// `*` matches any run of characters; everything else matches itself. Greedy with one
/// backtrack point, so linear in practice and at most text x pattern steps.
fn wildcard_match(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let (mut text_index, mut pattern_index) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while text_index < text.len() {
        if pattern_index < pattern.len() && pattern[pattern_index] == '*' {
            backtrack = Some((pattern_index, text_index));
            pattern_index += 1;
        } else if pattern_index < pattern.len() && pattern[pattern_index] == text[text_index] {
            pattern_index += 1;
            text_index += 1;
        } else if let Some((star, matched_from)) = backtrack {
            pattern_index = star + 1;
            text_index = matched_from + 1;
            backtrack = Some((star, matched_from + 1));
        } else {
            return false;
        }
    }
    pattern[pattern_index..].iter().all(|character| *character == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROPERTIES: &[(&str, FieldType)] = &[
        ("DeviceAccessState", FieldType::Text),
        ("FirstSyncTime", FieldType::Date),
        ("HasActiveSyncDevicePartnership", FieldType::Bool),
        ("DeviceId", FieldType::Text),
    ];

    fn device<'a>(state: &'a str, first_sync: &str, device_id: &'a str) -> impl Fn(&str) -> FieldValue<'a> {
        let first_sync_time = parse_date_time(first_sync);
        move |property| match property {
            "DeviceAccessState" => FieldValue::Text(state),
            "FirstSyncTime" => FieldValue::Date(first_sync_time),
            "DeviceId" => FieldValue::Text(device_id),
            _ => FieldValue::Bool(true),
        }
    }

    fn parse(text: &str) -> Filter {
        Filter::parse(text, PROPERTIES).unwrap_or_else(|error| panic!("{text}: {}", error.message))
    }

    #[test]
    fn the_forms_easgate_sends_select_what_they_say() {
        let quarantined = parse("DeviceAccessState -eq 'Quarantined'");
        assert!(quarantined.matches(&device("Quarantined", "2026-01-01T00:00:00Z", "a")));
        assert!(!quarantined.matches(&device("Allowed", "2026-01-01T00:00:00Z", "a")));
        let recent = parse("FirstSyncTime -gt '2026-01-01T10:00:00Z'");
        assert!(recent.matches(&device("Allowed", "2026-01-01T10:00:01Z", "a")));
        assert!(!recent.matches(&device("Allowed", "2026-01-01T10:00:00Z", "a")));
        assert!(parse("HasActiveSyncDevicePartnership -eq $true").matches(&device("", "2026-01-01", "")));
        assert!(parse("HasActiveSyncDevicePartnership -eq `$true").matches(&device("", "2026-01-01", "")));
        assert!(!parse("HasActiveSyncDevicePartnership -eq $false").matches(&device("", "2026-01-01", "")));
    }

    #[test]
    fn boolean_operators_parentheses_and_wildcards() {
        let filter = parse(
            "{(DeviceAccessState -eq 'Blocked' -or DeviceAccessState -eq 'quarantined') -and -not (DeviceId -like 'Appl*')}",
        );
        assert!(filter.matches(&device("Quarantined", "2026-01-01", "android1")));
        assert!(!filter.matches(&device("Quarantined", "2026-01-01", "ApplXYZ")));
        assert!(!filter.matches(&device("Allowed", "2026-01-01", "android1")));
    }

    #[test]
    fn a_quote_in_a_value_is_doubled_and_stays_part_of_the_value() {
        let filter = parse("DeviceId -eq 'x''; Remove-Mailbox -Identity *; '''");
        assert!(filter.matches(&device("", "2026-01-01", "x'; Remove-Mailbox -Identity *; '")));
    }

    #[test]
    fn bad_filters_are_refused_with_exchange_s_message() {
        for bad in [
            "DeviceAccessState -eq",
            "Nope -eq 'x'",
            "FirstSyncTime -gt 'yesterday'",
            "DeviceId -eq 'open",
            "(DeviceId -eq 'a'",
        ] {
            let error = Filter::parse(bad, PROPERTIES).expect_err(bad);
            assert!(error.message.starts_with("Cannot bind parameter 'Filter'"), "{bad}: {}", error.message);
        }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("abcdef", "a*f"));
        assert!(wildcard_match("abcdef", "*c*"));
        assert!(!wildcard_match("abcdef", "a*g"));
        assert!(wildcard_match("", "*"));
    }
}

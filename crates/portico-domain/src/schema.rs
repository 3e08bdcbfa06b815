//! JSON Schemas of the text rules in [`crate::validate`] and the other validators, for the
//! admin API's OpenAPI contract (feature `openapi`). Each states exactly what its validator
//! accepts, so the contract neither refuses what the server takes nor promises what it refuses:
//! `str::trim` (Unicode `White_Space`) first, then a length in characters and no control
//! characters (`char::is_control`: U+0000–001F and U+007F–009F) in what is left.

use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};

/// Rust's `char::is_whitespace` (the `White_Space` property), as a character class body.
const WS: &str = r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// `char::is_control`.
const CTRL: &str = r"\x00-\x1f\x7f-\x9f";
/// Control characters other than tab, line feed and carriage return.
const CTRL_BUT_LINES: &str = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f";

fn string(pattern: String, description: &str, nullable: bool) -> RefOr<Schema> {
    let ty = if nullable {
        utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null])
    } else {
        utoipa::openapi::schema::SchemaType::new(Type::String)
    };
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(ty)
            .pattern(Some(pattern))
            .description(Some(description))
            .build(),
    )
    .into()
}

/// [`crate::validate::display_text`]: one line, not blank, at most `max` characters once
/// trimmed, no control characters.
fn display_text(max: usize, nullable: bool) -> RefOr<Schema> {
    let inner = max - 2;
    string(
        format!("^[{WS}]*[^{WS}{CTRL}](?:[^{CTRL}]{{0,{inner}}}[^{WS}{CTRL}])?[{WS}]*$"),
        &format!("Trimmed: 1 to {max} characters, no control characters."),
        nullable,
    )
}

/// [`crate::validate::long_text`]: may be empty, at most `max` characters once trimmed; tabs
/// and line breaks allowed, no other control characters.
fn long_text(max: usize, nullable: bool) -> RefOr<Schema> {
    let inner = max - 2;
    let edge = format!("[^{WS}{CTRL}]");
    string(
        format!("^[{WS}]*(?:{edge}(?:[^{CTRL_BUT_LINES}]{{0,{inner}}}{edge})?)?[{WS}]*$"),
        &format!(
            "Trimmed: at most {max} characters; tabs and line breaks allowed, no other control characters."
        ),
        nullable,
    )
}

/// [`crate::validate_login_id`]: trimmed, 3 to 254 characters, no spaces or control
/// characters (the server counts the lower-cased id's bytes).
pub fn login_id() -> RefOr<Schema> {
    string(
        format!("^[{WS}]*[^{WS}{CTRL}]{{3,254}}[{WS}]*$"),
        "A sign-in name (often an e-mail address), stored lower-cased: 3 to 254 characters once trimmed, no spaces or control characters.",
        false,
    )
}

/// [`crate::validate_password`]: 12 to 1024 characters, untrimmed.
fn password_schema(nullable: bool) -> RefOr<Schema> {
    let ty = if nullable {
        utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null])
    } else {
        utoipa::openapi::schema::SchemaType::new(Type::String)
    };
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(ty)
            .min_length(Some(12))
            .max_length(Some(1024))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
            .description(Some("12 to 1024 characters."))
            .build(),
    )
    .into()
}

pub fn password() -> RefOr<Schema> {
    password_schema(false)
}

pub fn password_or_null() -> RefOr<Schema> {
    password_schema(true)
}

/// [`crate::company::validate_domain`]: a DNS name of at least two labels (letters, digits,
/// hyphens inside), trailing dots dropped, stored lower-cased.
pub fn domain() -> RefOr<Schema> {
    let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    let schema: Object = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^[{WS}]*{label}(?:\\.{label})+\\.*[{WS}]*$")))
        .max_length(Some(253))
        .description(Some(
            "A DNS name such as example.com (at least two labels), stored lower-cased.",
        ))
        .examples(["acme.example"])
        .build();
    Schema::Object(schema).into()
}

macro_rules! text_schemas {
    ($($name:ident, $nullable:ident = $kind:ident($max:literal);)*) => {$(
        pub fn $name() -> RefOr<Schema> {
            $kind($max, false)
        }
        pub fn $nullable() -> RefOr<Schema> {
            $kind($max, true)
        }
    )*};
}

text_schemas! {
    display_text_100, display_text_100_or_null = display_text(100);
    display_text_200, display_text_200_or_null = display_text(200);
    display_text_2000, display_text_2000_or_null = display_text(2000);
    long_text_2000, long_text_2000_or_null = long_text(2000);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(schema: RefOr<Schema>) -> String {
        match schema {
            RefOr::T(Schema::Object(o)) => o.pattern.unwrap(),
            _ => unreachable!(),
        }
    }

    /// A minimal matcher for the patterns' shape is out of reach without a regex crate; check
    /// instead that each pattern is anchored and names the limits of its validator.
    #[test]
    fn patterns_state_the_limits() {
        assert!(pattern(display_text_200()).contains("{0,198}"));
        assert!(pattern(long_text_2000()).contains("{0,1998}"));
        assert!(pattern(login_id()).contains("{3,254}"));
        for p in [pattern(display_text_100()), pattern(domain())] {
            assert!(p.starts_with('^') && p.ends_with('$'), "{p}");
        }
    }
}

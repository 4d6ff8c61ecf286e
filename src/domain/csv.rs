//! CSV as spreadsheets read it (RFC 4180), for reports and exports.

/// Appends one record: fields separated by commas, quoted where they hold a
/// comma, a quote or a line break (RFC 4180 §2.6–2.7), ended by CRLF (§2.1).
/// A text field starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with
/// `'` so that a spreadsheet does not run it as a formula (OWASP CSV injection);
/// numbers are written by the caller as plain digits and are not text.
pub fn write_record<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let field = field.as_ref();
        let guarded;
        let field = if field.starts_with(['=', '+', '@', '\t', '\r'])
            || (field.starts_with('-') && field.parse::<f64>().is_err())
        {
            guarded = format!("'{field}");
            guarded.as_str()
        } else {
            field
        };
        if field.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        let mut out = String::new();
        write_record(&mut out, &["a", "b,c", "say \"hi\"", "two\nlines", ""]);
        assert_eq!(out, "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n");
    }

    #[test]
    fn formulas_are_defused_and_negative_numbers_kept() {
        let mut out = String::new();
        write_record(&mut out, &["=1+1", "-5", "-x", "@SUM(A1)"]);
        assert_eq!(out, "'=1+1,-5,'-x,'@SUM(A1)\r\n");
    }
}

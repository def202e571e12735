//! Labels for material: a QR code leading to the passport, with its code and name, sized for
//! A4 sheets of 3 × 8 labels (70 × 37 mm), as SVG that any browser prints.

use qrcode::{Color, EcLevel, QrCode};

/// One label's size in millimetres (A4 3 × 8 sheets: 70 × 37.125 mm; 37 leaves a margin).
pub const WIDTH_MM: f64 = 70.0;
pub const HEIGHT_MM: f64 = 37.0;
/// Labels on one A4 sheet: 3 columns, 8 rows.
pub const PER_SHEET: usize = 24;

/// What a label shows.
#[derive(Debug, Clone)]
pub struct Label {
    pub code: String,
    pub name: String,
    /// Where the QR code leads: the passport.
    pub url: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The dark modules of the QR code as one SVG path, one unit a module, and the code's width;
/// an empty path (and the smallest width) for a URL too long for any QR code, so that the label
/// still carries the passport's code and name.
fn qr_path(url: &str) -> (String, usize) {
    let Ok(code) = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .or_else(|_| QrCode::with_error_correction_level(url.as_bytes(), EcLevel::L))
    else {
        return (String::new(), 21);
    };
    let width = code.width();
    let mut path = String::new();
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == Color::Dark {
            path.push_str(&format!("M{} {}h1v1h-1z", i % width, i / width));
        }
    }
    (path, width)
}

/// A label's drawing at (`x`, `y`) mm, for a page or a label of its own.
fn group(label: &Label, x: f64, y: f64) -> String {
    let (path, width) = qr_path(&label.url);
    // The QR code with its quiet zone of 4 modules fills 31 mm of the label's height.
    let side = 31.0;
    let scale = side / (width + 8) as f64;
    let name: String = label.name.chars().take(60).collect();
    let (first, second) = match name.char_indices().nth(28) {
        Some((at, _)) => name.split_at(at),
        None => (name.as_str(), ""),
    };
    format!(
        r#"<g transform="translate({x} {y})"><rect width="{WIDTH_MM}" height="{HEIGHT_MM}" fill="white"/><g transform="translate({q} {q}) scale({scale})"><path d="{path}" fill="black"/></g><text x="35" y="11" font-family="sans-serif" font-size="4.2" font-weight="bold">{code}</text><text x="35" y="18" font-family="sans-serif" font-size="3">{first}</text><text x="35" y="22" font-family="sans-serif" font-size="3">{second}</text><text x="35" y="32" font-family="sans-serif" font-size="2.2">materialenpaspoort</text></g>"#,
        q = 3.0 + 4.0 * scale,
        code = escape(&label.code),
        first = escape(first),
        second = escape(second),
    )
}

/// One label as an SVG of 70 × 37 mm.
pub fn label_svg(label: &Label) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_MM}mm" height="{HEIGHT_MM}mm" viewBox="0 0 {WIDTH_MM} {HEIGHT_MM}">{}</svg>"#,
        group(label, 0.0, 0.0)
    )
}

/// A4 pages of labels, 3 × 8 a page, as one HTML document that prints a page per sheet.
pub fn sheets_html(title: &str, labels: &[Label]) -> String {
    let row_height = 297.0 / 8.0;
    let mut pages = String::new();
    for sheet in labels.chunks(PER_SHEET) {
        let mut svg = String::from(
            r#"<svg class="sheet" xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297">"#,
        );
        for (i, label) in sheet.iter().enumerate() {
            let x = (i % 3) as f64 * WIDTH_MM;
            let y = (i / 3) as f64 * row_height;
            svg.push_str(&group(label, x, y));
        }
        svg.push_str("</svg>");
        pages.push_str(&svg);
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title><style>\
         @page {{ size: A4; margin: 0 }} body {{ margin: 0 }} \
         .sheet {{ display: block; page-break-after: always; break-after: page }}\
         </style></head><body>{pages}</body></html>",
        escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(i: usize) -> Label {
        Label {
            code: format!("KL-AAAA-{i:04}"),
            name: "Eiken binnendeur <201,5 x 83 cm> & kozijn".into(),
            url: "https://kringloop.example/api/v1/passports/01a2".into(),
        }
    }

    #[test]
    fn a_label_has_its_code_its_escaped_name_and_a_qr_code() {
        let svg = label_svg(&label(1));
        assert!(svg.starts_with("<svg") && svg.contains(r#"width="70mm""#));
        assert!(svg.contains("KL-AAAA-0001"));
        assert!(svg.contains("&lt;201,5") && svg.contains("&amp; kozijn"));
        assert!(svg.contains("<path d=\"M"));
    }

    #[test]
    fn sheets_hold_twenty_four_labels() {
        let labels: Vec<Label> = (0..25).map(label).collect();
        let html = sheets_html("Import", &labels);
        assert_eq!(html.matches(r#"class="sheet""#).count(), 2);
        assert_eq!(html.matches("materialenpaspoort").count(), 25);
    }
}

//! The one redactor for everything the process says: every secret value it learns (a
//! resolved `{fromEnv}` value, the bearer token, the client secret, refresh and access
//! tokens, a password in a URL, a literal secret found in a manifest) is [`register`]ed at
//! the moment it is read, and every byte that leaves the process (stdout, stderr, logs,
//! written plan, drift and import files, panic messages) passes through [`mask`].
//!
//! Text a server sends is untrusted: [`untrusted`] masks it, drops control characters and
//! cuts it to [`UNTRUSTED_MAX`] characters before anything may print it.
//!
//! This module owns no policy on *what* is secret; callers decide that and register.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::{OnceLock, RwLock};

/// What a masked secret is replaced with.
pub const MASK: &str = "***";
/// The longest server text shown (characters), after masking.
pub const UNTRUSTED_MAX: usize = 300;
/// The fewest characters a secret may have. Shorter values cannot be kept out of output:
/// masking every `a` or `1` would garble it and, by where the mask falls, still tell the
/// value. They are not registered; where dimctl takes a secret from the user it refuses
/// one this short instead ([`too_short`], [`TooShort`]).
pub const MIN_LEN: usize = 4;

/// Whether `secret` (trimmed, non-empty) is too short to be masked: dimctl refuses it.
pub fn too_short(secret: &str) -> bool {
    let n = secret.trim().chars().count();
    n > 0 && n < MIN_LEN
}

/// A secret refused for being shorter than [`MIN_LEN`] characters; `.0` says where it came
/// from (a variable's name, never the value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0} holds a secret of fewer than {MIN_LEN} characters, which cannot be kept out of output safely (nothing was sent): use a secret of at least {MIN_LEN} characters"
)]
pub struct TooShort(pub String);

fn registry() -> &'static RwLock<Vec<String>> {
    static SECRETS: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| RwLock::new(Vec::new()))
}

/// The spellings a secret may take in output: as is, JSON-escaped, percent-encoded (a
/// form or query echoed back) and `+` for spaces (form encoding).
fn spellings(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    if let Ok(json) = serde_json::to_string(secret) {
        let inner = &json[1..json.len() - 1];
        out.push(inner.to_string());
    }
    let pct: String = secret
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    out.push(pct.replace("%20", "+"));
    out.push(pct);
    out.retain(|s| s.chars().count() >= MIN_LEN);
    out.sort();
    out.dedup();
    out
}

/// Register a secret value: from now on it is masked in everything the process writes.
/// Empty and very short values (under 4 characters) are ignored; each line of a
/// multi-line value is registered on its own as well.
pub fn register(secret: &str) {
    let mut new = Vec::new();
    let trimmed = secret.trim();
    if trimmed.chars().count() >= MIN_LEN {
        new.extend(spellings(trimmed));
        if trimmed != secret && secret.chars().count() >= MIN_LEN {
            new.extend(spellings(secret));
        }
    }
    if trimmed.contains('\n') {
        for line in trimmed.lines().map(str::trim) {
            if line.chars().count() >= MIN_LEN {
                new.extend(spellings(line));
            }
        }
    }
    if new.is_empty() {
        return;
    }
    let mut guard = match registry().write() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    for s in new {
        if !guard.contains(&s) {
            guard.push(s);
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    guard.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Register the password of a URL (`https://user:PASS@host/...`), if it has one.
pub fn register_url(url: &str) {
    if let Ok(u) = reqwest::Url::parse(url)
        && let Some(p) = u.password()
    {
        register(p);
        if let Ok(decoded) = percent_decode(p) {
            register(&decoded);
        }
    }
}

fn percent_decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).map_err(|_| ())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// Whether the password of a URL (`https://user:PASS@host/...`), as given or decoded, is
/// too short to be masked ([`too_short`]).
pub fn url_password_too_short(url: &str) -> bool {
    reqwest::Url::parse(url).ok().is_some_and(|u| {
        u.password()
            .is_some_and(|p| too_short(p) || percent_decode(p).is_ok_and(|d| too_short(&d)))
    })
}

/// A URL with any user name and password removed, for messages and plans.
pub fn url_for_display(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string().trim_end_matches('/').to_string()
        }
        _ => url.to_string(),
    }
}

/// `text` with every registered secret replaced by `***`.
pub fn mask(text: &str) -> Cow<'_, str> {
    let guard = match registry().read() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if guard.is_empty() || !guard.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in guard.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    Cow::Owned(out)
}

/// Text a server (or any party outside the user's control) sent, made fit to show:
/// masked, control characters replaced by spaces, and cut to [`UNTRUSTED_MAX`]
/// characters with `…` when longer.
pub fn untrusted(text: &str) -> String {
    let masked = mask(text);
    let clean: String = masked
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    if clean.chars().count() <= UNTRUSTED_MAX {
        return clean.to_string();
    }
    let cut: String = clean.chars().take(UNTRUSTED_MAX).collect();
    // Never end the cut inside a secret's spelling that masking could no longer see.
    format!("{}…", mask(&cut))
}

/// A writer that masks what passes through it, a line at a time (a secret never spans a
/// line). What is left without a newline is masked and written on flush and on drop.
pub struct Masked<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

/// Complete lines are masked and written in pieces of about this many bytes, so a large
/// output (a plan of 100,000 customers) is never copied whole.
const PIECE: usize = 64 * 1024;

impl<W: Write> Masked<W> {
    pub fn new(inner: W) -> Self {
        Masked {
            inner,
            buf: Vec::new(),
        }
    }

    fn emit(&mut self, upto: usize) -> io::Result<()> {
        let chunk: Vec<u8> = self.buf.drain(..upto).collect();
        self.emit_bytes(&chunk)
    }

    fn emit_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(bytes);
        self.inner.write_all(mask(&text).as_bytes())
    }
}

impl<W: Write> Write for Masked<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let Some(last_nl) = data.iter().rposition(|b| *b == b'\n') else {
            self.buf.extend_from_slice(data);
            return Ok(data.len());
        };
        let (mut lines, rest) = data.split_at(last_nl + 1);
        if !self.buf.is_empty() {
            // The line begun by an earlier write ends here.
            let end = lines.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
            self.buf.extend_from_slice(&lines[..end]);
            let n = self.buf.len();
            self.emit(n)?;
            lines = &lines[end..];
        }
        // Whole lines, a piece at a time, each piece ending at a newline.
        while !lines.is_empty() {
            let cut = match lines.get(PIECE..) {
                None => lines.len(),
                Some(after) => {
                    PIECE
                        + after
                            .iter()
                            .position(|b| *b == b'\n')
                            .map_or(after.len(), |i| i + 1)
                }
            };
            let (piece, more) = lines.split_at(cut);
            self.emit_bytes(piece)?;
            lines = more;
        }
        self.buf.extend_from_slice(rest);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let n = self.buf.len();
        if n > 0 {
            self.emit(n)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Masked<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// `inner` masked behind a buffer, for a writer that gets many small writes (a
/// serialiser): the masking then runs on pieces of [`PIECE`] bytes, not on every write.
/// Flush it (flushing passes through to `inner`) to see write errors.
pub fn buffered<W: Write>(inner: W) -> io::BufWriter<Masked<W>> {
    io::BufWriter::with_capacity(PIECE, Masked::new(inner))
}

/// Standard output, masked.
pub fn stdout() -> Masked<io::StdoutLock<'static>> {
    Masked::new(io::stdout().lock())
}

/// Standard error, masked.
pub fn stderr() -> Masked<io::StderrLock<'static>> {
    Masked::new(io::stderr().lock())
}

/// Print to stdout through the redactor (use instead of `print!`).
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::write!($crate::redact::stdout(), $($t)*);
    }};
}

/// Print a line to stdout through the redactor (use instead of `println!`).
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!($crate::redact::stdout(), $($t)*);
    }};
}

/// Print to stderr through the redactor (use instead of `eprint!`).
#[macro_export]
macro_rules! err {
    ($($t:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::write!($crate::redact::stderr(), $($t)*);
    }};
}

/// Print a line to stderr through the redactor (use instead of `eprintln!`).
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!($crate::redact::stderr(), $($t)*);
    }};
}

/// The writer for `tracing`: stderr, masked.
#[derive(Debug, Clone, Copy, Default)]
pub struct MaskedStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for MaskedStderr {
    type Writer = Masked<io::StderrLock<'static>>;

    fn make_writer(&'a self) -> Self::Writer {
        stderr()
    }
}

/// Replace the panic message printer with one that masks (a panic must not print a
/// secret either). The location is kept; the message is masked ([`panic_report`]).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let mut e = stderr();
        let _ = writeln!(e, "{}", panic_report(info.payload(), info.location()));
    }));
}

/// What the panic hook prints for a panic with `payload` at `location`: the location, the
/// message with every registered secret masked, and a request to report the bug. Pure
/// (apart from reading the registry), so that a test can hold it to its promise.
pub fn panic_report(
    payload: &(dyn std::any::Any + Send),
    location: Option<&std::panic::Location<'_>>,
) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    let at = location
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    format!(
        "dimctl panicked{at}: {}\nThis is a bug; please report it.",
        mask(&message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_masked_in_every_spelling() {
        register("reg-SECRET one/two");
        assert_eq!(mask("a reg-SECRET one/two b"), "a *** b");
        assert_eq!(mask("x=reg-SECRET+one%2Ftwo&"), "x=***&");
        assert_eq!(mask("nothing here"), "nothing here");
        // too short to register
        register("ab");
        assert_eq!(mask("ab cab"), "ab cab");
    }

    #[test]
    fn untrusted_text_is_masked_cleaned_and_cut() {
        register("unt-SECRET-42");
        let t = untrusted("The value 'unt-SECRET-42' is not valid.\n\u{1b}[31m");
        assert_eq!(t, "The value '***' is not valid.  [31m");
        let long = "x".repeat(1000);
        assert_eq!(untrusted(&long).chars().count(), UNTRUSTED_MAX + 1);
    }

    #[test]
    fn masked_writer_masks_across_writes_and_on_flush() {
        register("wr-SECRET-77");
        let mut sink = Vec::new();
        {
            let mut w = Masked::new(&mut sink);
            w.write_all(b"key wr-SEC").unwrap();
            w.write_all(b"RET-77 end\ntail wr-SECRET-77").unwrap();
        }
        assert_eq!(String::from_utf8(sink).unwrap(), "key *** end\ntail ***");
    }

    #[test]
    fn a_large_write_is_masked_piece_by_piece_and_whole() {
        register("big-SECRET-88");
        let line = "a line with big-SECRET-88 in it\n";
        let text = line.repeat(10_000);
        let mut sink = Vec::new();
        {
            let mut w = Masked::new(&mut sink);
            w.write_all(b"start ").unwrap();
            w.write_all(text.as_bytes()).unwrap();
            w.write_all(b"big-SECRET-88").unwrap();
        }
        let out = String::from_utf8(sink).unwrap();
        let want = format!("start {}***", "a line with *** in it\n".repeat(10_000));
        assert_eq!(out, want);
    }

    #[test]
    fn the_panic_report_masks_a_registered_secret() {
        let secret = "pnc-SECRET-5150";
        register(secret);
        let at = std::panic::Location::caller();
        // A formatted message (`String`) and a literal one (`&str`), as `panic!` makes them.
        let formatted: String = format!("bad answer {{\"password\":\"{secret}\"}}");
        let report = panic_report(&formatted, Some(at));
        assert!(!report.contains(secret), "{report}");
        assert!(
            report.starts_with(&format!(
                "dimctl panicked at {}:{}: bad answer {{\"password\":\"***\"}}",
                at.file(),
                at.line()
            )),
            "{report}"
        );
        assert!(
            report.ends_with("This is a bug; please report it."),
            "{report}"
        );
        let literal: &'static str = "token pnc-SECRET-5150 leaked";
        let report = panic_report(&literal, None);
        assert_eq!(
            report,
            "dimctl panicked: token *** leaked\nThis is a bug; please report it."
        );
        assert_eq!(
            panic_report(&42u8, None),
            "dimctl panicked: (no message)\nThis is a bug; please report it."
        );
    }

    #[test]
    fn short_secrets_are_recognised_for_refusal() {
        assert!(too_short("p4w") && too_short(" 1 ") && too_short("é"));
        assert!(!too_short("") && !too_short("   ") && !too_short("p4ww"));
        assert!(url_password_too_short("https://u:ab@h.example/api"));
        assert!(url_password_too_short("https://u:%41%42%43@h.example"));
        assert!(!url_password_too_short("https://u:abcd@h.example"));
        assert!(!url_password_too_short("https://h.example/api"));
        let msg = TooShort("environment variable X".into()).to_string();
        assert!(
            msg.starts_with("environment variable X holds a secret of fewer than 4 characters"),
            "{msg}"
        );
    }

    #[test]
    fn url_passwords() {
        register_url("https://u:url-PASS%21@h.example/api");
        assert_eq!(mask("url-PASS!"), "***");
        assert_eq!(
            url_for_display("https://u:p@h.example/api/v1.0"),
            "https://h.example/api/v1.0"
        );
    }
}

//! The fast path of the message decoders.
//!
//! serde's visitors are generic, so every message type gets its own copy
//! of serde_json's map-reading glue, 2 to 7 KB of machine code apiece. On
//! mixed traffic (every message a different type) that code no longer
//! fits the instruction cache, and decoding spends much of its time
//! fetching it. The fast path reads the usual form of a message with one
//! small, concrete scanner ([`Scan`]), so a message type costs only a
//! field table and a few calls.
//!
//! serde_json stays the authority. The fast path takes a strict subset of
//! JSON and gives up ([`Bail`]) on anything else: escapes in keys or tags,
//! fractions, exponents and negative numbers, `null` payloads, unknown
//! message types, duplicate or missing members, deep nesting, any value a
//! field's own reader would reject. The caller then decodes the message
//! from the start with serde_json, which also words every error. So the
//! fast path never makes an error, and when it answers, its answer is the
//! one serde_json gives: a differential property test and a fuzz target
//! check exactly that.
//!
//! Values the scanner does not read itself (free-form JSON, unknown
//! members, strings with escapes) are cut out of the text and handed to
//! serde_json whole, so their meaning is serde_json's by construction.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

/// The fast path cannot decide: decode with serde_json instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bail;

/// The answer of a fast-path reader.
pub(crate) type Fast<T> = Result<T, Bail>;

/// Containers the fast path opens, plus any nesting inside a value handed
/// to serde_json, may not exceed this. serde_json allows 127; staying far
/// below keeps the two decoders' limits from ever disagreeing.
const MAX_DEPTH: usize = 64;

/// A cursor over JSON text that reads the common subset of the grammar.
pub(crate) struct Scan<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

/// The members of an object being read, one key at a time.
#[derive(Clone, Copy)]
pub(crate) struct Members {
    first: bool,
}

impl Members {
    /// The next member's key (its `:` consumed), or `None` at the closing
    /// brace. Keys with escapes bail.
    #[inline(always)] // hot: kept inside the member walk and the string readers
    pub(crate) fn next_key<'a>(&mut self, s: &mut Scan<'a>) -> Fast<Option<&'a str>> {
        match s.peek() {
            Some(b'}') => {
                s.pos += 1;
                s.depth -= 1;
                return Ok(None);
            }
            Some(b',') if !self.first => s.pos += 1,
            Some(b'"') if self.first => {}
            _ => return Err(Bail),
        }
        self.first = false;
        let key = s.plain_str()?;
        s.expect(b':')?;
        Ok(Some(key))
    }
}

impl<'a> Scan<'a> {
    /// A scanner at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            depth: 0,
        }
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte that is not JSON whitespace, not consumed.
    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        let bytes = self.bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                return Some(b);
            }
        }
        None
    }

    #[inline]
    fn expect(&mut self, want: u8) -> Fast<()> {
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// Opens an object.
    #[inline]
    pub(crate) fn object(&mut self) -> Fast<Members> {
        self.expect(b'{')?;
        self.enter(1)?;
        Ok(Members { first: true })
    }

    fn enter(&mut self, levels: usize) -> Fast<()> {
        self.depth += levels;
        if self.depth > MAX_DEPTH {
            Err(Bail)
        } else {
            Ok(())
        }
    }

    /// Only whitespace may follow the value just read.
    pub(crate) fn finish(&mut self) -> Fast<()> {
        if self.peek().is_none() {
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// Consumes a `null` when one comes next.
    #[inline]
    pub(crate) fn null(&mut self) -> bool {
        if self.peek() == Some(b'n') && self.bytes()[self.pos..].starts_with(b"null") {
            self.pos += 4;
            true
        } else {
            false
        }
    }

    /// Steps over a string whose opening quote is at `self.pos`. Returns
    /// the position of the closing quote and whether an escape was seen;
    /// bails on a raw control character (which JSON forbids) or at the end
    /// of the text.
    #[inline]
    fn string_end(&mut self) -> Fast<(usize, bool)> {
        let bytes = self.bytes();
        let mut i = self.pos + 1;
        let mut escaped = false;
        loop {
            // Eight bytes at a time up to the next quote, backslash or
            // control character.
            while let Some(chunk) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
                let found = special_bytes(u64::from_le_bytes(*chunk));
                if found != 0 {
                    i += (found.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            match bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok((i, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    i += 2;
                }
                Some(&b) if b < 0x20 => return Err(Bail),
                Some(_) => i += 1,
                None => return Err(Bail),
            }
        }
    }

    /// A string without escapes, borrowed from the text.
    #[inline]
    pub(crate) fn plain_str(&mut self) -> Fast<&'a str> {
        if self.peek() != Some(b'"') {
            return Err(Bail);
        }
        let start = self.pos + 1;
        let (end, escaped) = self.string_end()?;
        if escaped {
            return Err(Bail);
        }
        self.text.get(start..end).ok_or(Bail)
    }

    /// A string; one with escapes is decoded by serde_json.
    #[inline(always)] // hot: kept inside the member walk and the string readers
    pub(crate) fn str(&mut self) -> Fast<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return Err(Bail);
        }
        let open = self.pos;
        let (end, escaped) = self.string_end()?;
        if escaped {
            unescape(self.text.get(open + 1..end).ok_or(Bail)?).map(Cow::Owned)
        } else {
            self.text.get(open + 1..end).map(Cow::Borrowed).ok_or(Bail)
        }
    }

    /// `true` or `false`.
    pub(crate) fn bool(&mut self) -> Fast<bool> {
        let next = self.peek();
        let rest = &self.bytes()[self.pos..];
        if next == Some(b't') && rest.starts_with(b"true") {
            self.pos += 4;
            Ok(true)
        } else if next == Some(b'f') && rest.starts_with(b"false") {
            self.pos += 5;
            Ok(false)
        } else {
            Err(Bail)
        }
    }

    /// A non-negative integer in plain decimal that fits a `u64`. A
    /// fraction, an exponent, a sign or a leading zero bails.
    #[inline]
    pub(crate) fn u64(&mut self) -> Fast<u64> {
        let mut n: u64 = match self.peek() {
            Some(b'0') => 0,
            Some(b @ b'1'..=b'9') => u64::from(b - b'0'),
            _ => return Err(Bail),
        };
        let bytes = self.bytes();
        let mut i = self.pos + 1;
        if n != 0 {
            while let Some(&b) = bytes.get(i) {
                if !b.is_ascii_digit() {
                    break;
                }
                n = n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(b - b'0')))
                    .ok_or(Bail)?;
                i += 1;
            }
        }
        if matches!(bytes.get(i), Some(b'0'..=b'9' | b'.' | b'e' | b'E')) {
            return Err(Bail);
        }
        self.pos = i;
        Ok(n)
    }

    /// The text of the next value, whatever it is, stepped over without
    /// checking its syntax (whoever reads the text checks it). Bails when
    /// its nesting would pass [`MAX_DEPTH`].
    pub(crate) fn raw_value(&mut self) -> Fast<&'a str> {
        let start = match self.peek() {
            Some(_) => self.pos,
            None => return Err(Bail),
        };
        let bytes = self.bytes();
        match bytes[start] {
            b'"' => {
                self.string_end()?;
            }
            b'{' | b'[' => {
                let mut level = 0usize;
                let mut deepest = 0usize;
                let mut i = start;
                loop {
                    match bytes.get(i) {
                        Some(b'{' | b'[') => {
                            level += 1;
                            deepest = deepest.max(level);
                            i += 1;
                        }
                        Some(b'}' | b']') => {
                            level -= 1;
                            i += 1;
                            if level == 0 {
                                break;
                            }
                        }
                        Some(b'"') => {
                            self.pos = i;
                            let _ = self.string_end()?;
                            i = self.pos;
                        }
                        Some(_) => i += 1,
                        None => return Err(Bail),
                    }
                }
                if self.depth + deepest > MAX_DEPTH {
                    return Err(Bail);
                }
                self.pos = i;
            }
            _ => {
                let mut i = start;
                while let Some(&b) = bytes.get(i) {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    i += 1;
                }
                self.pos = i;
            }
        }
        self.text.get(start..self.pos).ok_or(Bail)
    }

    /// Any JSON value, read into the `serde_json::Value` that serde_json
    /// itself would make of it: a later duplicate key replaces an earlier
    /// one, as in serde_json's own `Value` decoder. Plain non-negative
    /// integers are read here; any other number (a sign, a fraction, an
    /// exponent, past `u64`) is cut out and parsed by serde_json, so its
    /// value is serde_json's. Escaped keys bail.
    ///
    /// Reading here rather than through [`serde`](Self::serde) saves a
    /// second pass over the text and keeps serde_json's `Value` visitor,
    /// several KB of code, out of the decoders' instruction cache.
    pub(crate) fn value(&mut self) -> Fast<serde_json::Value> {
        use serde_json::Value;
        Ok(match self.peek() {
            Some(b'"') => Value::String(self.str()?.into_owned()),
            Some(b'{') => {
                let mut members = self.object()?;
                let mut map = serde_json::Map::new();
                while let Some(key) = members.next_key(self)? {
                    let value = self.value()?;
                    map.insert(key.to_owned(), value);
                }
                Value::Object(map)
            }
            Some(b'[') => Value::Array(self.array(Self::value)?),
            Some(b't' | b'f') => Value::Bool(self.bool()?),
            Some(b'n') => {
                if !self.null() {
                    return Err(Bail);
                }
                Value::Null
            }
            Some(b'-' | b'0'..=b'9') => match self.u64() {
                Ok(n) => Value::Number(n.into()),
                // `u64` consumed nothing: cut the number out whole.
                Err(Bail) => serde_json::from_str::<serde_json::Number>(self.raw_value()?)
                    .map(Value::Number)
                    .map_err(|_| Bail)?,
            },
            _ => return Err(Bail),
        })
    }

    /// The next value decoded by serde_json from its own text.
    pub(crate) fn serde<T: DeserializeOwned>(&mut self) -> Fast<T> {
        let raw = self.raw_value()?;
        serde_json::from_str(raw).map_err(|_| Bail)
    }

    /// An array, each element read by `item`.
    pub(crate) fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> Fast<T>) -> Fast<Vec<T>> {
        self.expect(b'[')?;
        self.enter(1)?;
        let mut out = Vec::new();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(out);
        }
        loop {
            out.push(item(self)?);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(out);
                }
                _ => return Err(Bail),
            }
        }
    }
}

/// The text of a JSON string whose quotes are already stripped and whose
/// bytes [`Scan::string_end`] has checked (no raw control characters),
/// with its escapes decoded.
///
/// serde_json decodes escapes only through its deserializer, which would
/// mean a second pass over the string and serde_json's string code in the
/// decoders' instruction cache on every escaped string; the grammar is
/// small enough to read here. Anything unusual bails to serde_json, which
/// then decides: an escape JSON does not define, a `\u` escape that is
/// not four hex digits, and every surrogate that is not a well-formed
/// high-low pair.
fn unescape(raw: &str) -> Fast<String> {
    let bytes = raw.as_bytes();
    // Byte by byte: the runs between escapes are short (an escaped message
    // is mostly `\"key\":\"value\"`), too short to pay for a search and
    // a copy call each.
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let short = match bytes.get(i + 1) {
            Some(b'"') => b'"',
            Some(b'\\') => b'\\',
            Some(b'/') => b'/',
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => {
                let unit = hex4(bytes.get(i + 2..i + 6))?;
                let (decoded, used) = match unit {
                    0xD800..=0xDBFF => {
                        // A high surrogate counts only with its low half.
                        if bytes.get(i + 6..i + 8) != Some(b"\\u") {
                            return Err(Bail);
                        }
                        let low = hex4(bytes.get(i + 8..i + 12))?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(Bail);
                        }
                        let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        (char::from_u32(code).ok_or(Bail)?, 12)
                    }
                    0xDC00..=0xDFFF => return Err(Bail),
                    _ => (char::from_u32(unit).ok_or(Bail)?, 6),
                };
                out.extend_from_slice(decoded.encode_utf8(&mut [0; 4]).as_bytes());
                i += used;
                continue;
            }
            _ => return Err(Bail),
        };
        out.push(short);
        i += 2;
    }
    // Whole characters in, whole characters out: this never fails.
    String::from_utf8(out).map_err(|_| Bail)
}

/// Four hex digits, as in a `\u` escape.
fn hex4(digits: Option<&[u8]>) -> Fast<u32> {
    let digits = digits.ok_or(Bail)?;
    let mut n = 0;
    for &d in digits {
        let v = char::from(d).to_digit(16).ok_or(Bail)?;
        n = n * 16 + v;
    }
    Ok(n)
}

/// The text a whole JSON document holds when it is one string, such as a
/// message posted as a JSON string; `Bail` for anything else or anything
/// unusual, which serde_json then decides.
pub(crate) fn json_string(text: &str) -> Fast<String> {
    let mut s = Scan::new(text);
    let out = s.str()?.into_owned();
    s.finish()?;
    Ok(out)
}

/// Marks (with the byte's top bit) the bytes of `word` that end the fast
/// part of a string: `"`, `\\` and the control characters below 0x20. The
/// lowest mark is always exact; marks above it may be spurious, so only
/// the first is used.
#[inline]
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    (quote | backslash | control) & TOPS
}

/// The index of `name` in `names`, or `names.len()` when it is not there.
/// Senders write members in a steady order, so `guess` (the index after
/// the previous member's) is tried first.
#[inline(never)]
pub(crate) fn position(names: &[&str], name: &str, guess: usize) -> usize {
    if names.get(guess) == Some(&name) {
        return guess;
    }
    names.iter().position(|n| *n == name).unwrap_or(names.len())
}

/// `true` when every bit of `required` is set in `seen`.
#[inline]
pub(crate) fn has_all(seen: u64, required: u64) -> bool {
    seen & required == required
}

/// Walks the members of an object for a struct's fast reader: turns each
/// key into the index of its field, keeps members no field claims, and
/// bails on duplicates, on the tag beside the fields and, at the end, on
/// a missing required field.
///
/// All of that is the same for every struct, so it lives here once, out
/// of line. A struct's own reader is then only a loop around
/// [`next`](Self::next) and a switch from index to field, which keeps the
/// code that mixed traffic runs through small enough to stay cached.
pub(crate) struct FieldWalk<'n> {
    members: Members,
    names: &'n [&'n str],
    skip: Option<&'n str>,
    seen: u64,
    guess: usize,
}

impl<'n> FieldWalk<'n> {
    /// A walk over `members` for a struct whose fields are `names`, in
    /// order; `skip` is a tag member that must not appear among them.
    #[inline]
    pub(crate) fn new(members: Members, names: &'n [&'n str], skip: Option<&'n str>) -> Self {
        Self {
            members,
            names,
            skip,
            seen: 0,
            guess: 0,
        }
    }

    /// The index of the next member's field, its `:` consumed and its
    /// value next in `s`; members no field claims go to `extra`. `None`
    /// at the closing brace, once every field in `required` was seen.
    #[inline(never)]
    pub(crate) fn next(
        &mut self,
        s: &mut Scan<'_>,
        extra: &mut crate::Extra,
        required: u64,
    ) -> Fast<Option<usize>> {
        loop {
            let Some(key) = self.members.next_key(s)? else {
                return if has_all(self.seen, required) {
                    Ok(None)
                } else {
                    Err(Bail)
                };
            };
            let index = position(self.names, key, self.guess);
            self.guess = index + 1;
            if index >= self.names.len() {
                if self.skip == Some(key) {
                    return Err(Bail);
                }
                read_extra(s, key, extra)?;
                continue;
            }
            let bit: u64 = 1 << index;
            if self.seen & bit != 0 {
                return Err(Bail);
            }
            self.seen |= bit;
            return Ok(Some(index));
        }
    }
}

/// Reads a field's value into its slot. One copy per field type serves
/// every struct, which keeps each struct's reader small.
#[inline(never)]
pub(crate) fn read_into<T: FastRead>(s: &mut Scan<'_>, slot: &mut T) -> Fast<()> {
    T::fast_read_into(s, slot)
}

/// [`FastRead::fast_read`] for a type read in place: a default value,
/// filled by [`FastRead::fast_read_into`].
#[inline]
pub(crate) fn read_whole<T: FastRead + Default>(s: &mut Scan<'_>) -> Fast<T> {
    let mut out = T::default();
    T::fast_read_into(s, &mut out)?;
    Ok(out)
}

/// [`FastRead::fast_read_some`] for a type read in place: a default value
/// put in the slot, then filled there.
#[inline]
pub(crate) fn read_some_in_place<T: FastRead + Default>(
    s: &mut Scan<'_>,
    slot: &mut Option<T>,
) -> Fast<()> {
    T::fast_read_into(s, slot.insert(T::default()))
}

/// Keeps a member no field claims, decoded by serde_json, as the serde
/// decoder does (a later duplicate replaces an earlier one).
#[inline(never)]
pub(crate) fn read_extra(s: &mut Scan<'_>, key: &str, extra: &mut crate::Extra) -> Fast<()> {
    let value = s.value()?;
    extra.insert(key.to_owned(), value);
    Ok(())
}

/// A type the fast path can read.
pub(crate) trait FastRead: Sized {
    /// Reads one value, or bails.
    fn fast_read(s: &mut Scan<'_>) -> Fast<Self>;

    /// Reads one value into a box. Structs override this to read straight
    /// into the box instead of moving a finished value there.
    #[inline]
    fn fast_read_boxed(s: &mut Scan<'_>) -> Fast<Box<Self>> {
        Self::fast_read(s).map(Box::new)
    }

    /// Reads one value into `slot`, replacing what it held.
    #[inline]
    fn fast_read_into(s: &mut Scan<'_>, slot: &mut Self) -> Fast<()> {
        *slot = Self::fast_read(s)?;
        Ok(())
    }

    /// Reads one value into an optional `slot` (not at `null`, which
    /// [`Option`]'s reader handles).
    #[inline]
    fn fast_read_some(s: &mut Scan<'_>, slot: &mut Option<Self>) -> Fast<()> {
        *slot = Some(Self::fast_read(s)?);
        Ok(())
    }
}

impl<T: FastRead> FastRead for Option<T> {
    #[inline]
    fn fast_read(s: &mut Scan<'_>) -> Fast<Self> {
        if s.null() {
            Ok(None)
        } else {
            T::fast_read(s).map(Some)
        }
    }

    #[inline]
    fn fast_read_into(s: &mut Scan<'_>, slot: &mut Self) -> Fast<()> {
        if s.null() {
            *slot = None;
            Ok(())
        } else {
            T::fast_read_some(s, slot)
        }
    }
}

impl<T: FastRead> FastRead for Box<T> {
    #[inline]
    fn fast_read(s: &mut Scan<'_>) -> Fast<Self> {
        T::fast_read_boxed(s)
    }
}

impl<T: FastRead> FastRead for Vec<T> {
    fn fast_read(s: &mut Scan<'_>) -> Fast<Self> {
        s.array(T::fast_read)
    }
}

/// Strings are written straight into the field they are read for. Each
/// move of a freshly built short string reads its bytes back just after
/// `memcpy` wrote them in smaller pieces, which defeats the CPU's store
/// forwarding; on the benchmark corpus those stalls cost more time than
/// the rest of reading the strings.
impl FastRead for crate::types::Str {
    fn fast_read(s: &mut Scan<'_>) -> Fast<Self> {
        read_whole(s)
    }

    #[inline(never)]
    fn fast_read_into(s: &mut Scan<'_>, slot: &mut Self) -> Fast<()> {
        match s.str()? {
            // `new_inline` is inlined here: one move between its buffer
            // and `slot`. `SmolStr::new` (out of line) and a returned
            // value made three.
            Cow::Borrowed(b) if b.len() <= Self::INLINE_CAP => *slot = Self::new_inline(b),
            Cow::Borrowed(b) => *slot = Self::new(b),
            Cow::Owned(o) => *slot = Self::from(o),
        }
        Ok(())
    }

    #[inline(never)]
    fn fast_read_some(s: &mut Scan<'_>, slot: &mut Option<Self>) -> Fast<()> {
        read_some_in_place(s, slot)
    }
}

impl FastRead for String {
    fn fast_read(s: &mut Scan<'_>) -> Fast<Self> {
        s.str().map(Cow::into_owned)
    }
}

impl FastRead for bool {
    fn fast_read(s: &mut Scan<'_>) -> Fast<Self> {
        s.bool()
    }
}

impl FastRead for u64 {
    fn fast_read(s: &mut Scan<'_>) -> Fast<Self> {
        s.u64()
    }
}

impl FastRead for i64 {
    fn fast_read(s: &mut Scan<'_>) -> Fast<Self> {
        i64::try_from(s.u64()?).map_err(|_| Bail)
    }
}

impl FastRead for serde_json::Number {
    fn fast_read(s: &mut Scan<'_>) -> Fast<Self> {
        match s.u64() {
            Ok(n) => Ok(n.into()),
            // `u64` consumed nothing: serde_json reads every other form.
            Err(Bail) => s.serde(),
        }
    }
}

impl FastRead for serde_json::Value {
    fn fast_read(s: &mut Scan<'_>) -> Fast<Self> {
        s.value()
    }
}

impl FastRead for serde_json::Map<String, serde_json::Value> {
    fn fast_read(s: &mut Scan<'_>) -> Fast<Self> {
        if s.peek() != Some(b'{') {
            return Err(Bail);
        }
        match s.value()? {
            serde_json::Value::Object(map) => Ok(map),
            _ => Err(Bail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Scan<'_> {
        Scan::new(text)
    }

    #[test]
    fn integers_in_plain_decimal_only() {
        assert_eq!(scan("0").u64(), Ok(0));
        assert_eq!(scan(" 42,").u64(), Ok(42));
        assert_eq!(scan("18446744073709551615").u64(), Ok(u64::MAX));
        for bad in [
            "18446744073709551616",
            "01",
            "-1",
            "1.5",
            "1e3",
            "1E3",
            "-0",
            "",
            "x",
        ] {
            assert_eq!(scan(bad).u64(), Err(Bail), "{bad}");
        }
    }

    #[test]
    fn special_bytes_finds_the_first_stop() {
        // Against the byte-at-a-time rule, for every byte value in every
        // lane, with plain bytes and other stops around it.
        let stop = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
        for fill in [b'a', 0xff, 0x7f, 0x21, 0x80] {
            for lane in 0..8 {
                for b in 0..=255u8 {
                    let mut word = [fill; 8];
                    word[lane] = b;
                    if lane < 7 {
                        word[7] = b'"';
                    }
                    let want = word.iter().position(|&x| stop(x));
                    let mask = special_bytes(u64::from_le_bytes(word));
                    let got = (mask != 0).then(|| (mask.trailing_zeros() / 8) as usize);
                    assert_eq!(got, want, "{word:?}");
                }
            }
        }
    }

    #[test]
    fn long_strings_scan_by_words() {
        let text = format!("\"{}\"", "x".repeat(37));
        assert_eq!(scan(&text).str().map(|s| s.len()), Ok(37));
        let text = format!("\"{}\\n{}\"", "x".repeat(13), "y".repeat(20));
        assert_eq!(scan(&text).str().map(|s| s.len()), Ok(34));
        let text = format!("\"{}\u{1}{}\"", "x".repeat(9), "y".repeat(20));
        assert_eq!(scan(&text).str(), Err(Bail));
        let text = format!("\"{}", "x".repeat(30));
        assert_eq!(scan(&text).str(), Err(Bail));
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        assert_eq!(scan(r#""abc""#).str(), Ok(Cow::Borrowed("abc")));
        assert_eq!(
            scan(r#""a\"b\u00e9""#).str(),
            Ok(Cow::<str>::Owned("a\"bé".into()))
        );
        assert_eq!(scan(r#""a\u00e9""#).plain_str(), Err(Bail));
        assert_eq!(scan("\"a\nb\"").str(), Err(Bail));
        assert_eq!(scan(r#""\ud800""#).str(), Err(Bail));
        assert_eq!(scan(r#""open"#).str(), Err(Bail));
    }

    #[test]
    fn escapes_decode_as_serde_json_decodes_them() {
        for text in [
            r#""\"\\\/\b\f\n\r\t""#,
            r#""a\u0000b\u001F\u00e9\u20AC\uFFFF""#,
            r#""pair \ud83d\ude00 and \uD83D\uDE00""#,
            r#""\u0041\u00410""#,
            r#"  "tail\n"  "#,
        ] {
            let want: String = serde_json::from_str(text).unwrap();
            assert_eq!(json_string(text), Ok(want), "{text}");
        }
        // Left to serde_json: lone or reversed surrogates, escapes JSON
        // does not define, short or signed hex, and more than one string.
        for text in [
            r#""\ud800""#,
            r#""\udc00\ud800""#,
            r#""\ud800\u0041""#,
            r#""\ud800x""#,
            r#""\x41""#,
            r#""\u12""#,
            r#""\u+123""#,
            r#""\u12g4""#,
            r#""\"#,
            r#""a" "b""#,
            r#"{"a":1}"#,
        ] {
            assert_eq!(json_string(text), Err(Bail), "{text}");
        }
    }

    #[test]
    fn objects_and_members() {
        let mut s = scan(r#" { "a" : 1 , "b":[true,false] } "#);
        let mut m = s.object().unwrap();
        assert_eq!(m.next_key(&mut s), Ok(Some("a")));
        assert_eq!(s.u64(), Ok(1));
        assert_eq!(m.next_key(&mut s), Ok(Some("b")));
        assert_eq!(s.array(Scan::bool), Ok(vec![true, false]));
        assert_eq!(m.next_key(&mut s), Ok(None));
        assert_eq!(s.finish(), Ok(()));

        for bad in [r#"{,"a":1}"#, r#"{"a":1,}"#, r#"{"a" 1}"#, r#"{"a":1"#] {
            let mut s = scan(bad);
            let mut m = s.object().unwrap();
            let r = (|| {
                while m.next_key(&mut s)?.is_some() {
                    s.u64()?;
                }
                s.finish()
            })();
            assert_eq!(r, Err(Bail), "{bad}");
        }
        assert_eq!(scan("{} x").object().map(|_| ()), Ok(()));
    }

    #[test]
    fn values_read_as_serde_json_reads_them() {
        for text in [
            r#"{"a":[1,-2,3.5,1e3,18446744073709551616,-0,0],"b":{"c":null,"d":true},"e":"x\u00e9"}"#,
            r#"{"k":1,"k":{"z":false}}"#,
            r#" [ ] "#,
            r#"{}"#,
            r#""plain""#,
            "12",
        ] {
            let want: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(scan(text).value(), Ok(want), "{text}");
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        for bad in [
            "nul",
            "tru",
            "[1,]",
            r#"{"a":1,}"#,
            "-",
            "01",
            "1.",
            r#"{"\u0061":1}"#,
            "[1",
            deep.as_str(),
        ] {
            assert_eq!(scan(bad).value().map(|_| ()), Err(Bail), "{bad}");
        }
    }

    #[test]
    fn raw_values_are_cut_whole() {
        let mut s = scan(r#"{"x":"}]"} , 1"#);
        assert_eq!(s.raw_value(), Ok(r#"{"x":"}]"}"#));
        let mut s = scan("12.5e3]");
        assert_eq!(s.raw_value(), Ok("12.5e3"));
        let v: Fast<serde_json::Value> = scan(r#"[1,{"a":null}]"#).serde();
        assert_eq!(v, Ok(serde_json::json!([1, {"a": null}])));
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(scan(&deep).raw_value(), Err(Bail));
        assert_eq!(scan("[[1]").raw_value(), Err(Bail));
    }

    #[test]
    fn strings_are_read_in_place_at_every_length() {
        use crate::types::{NumOrStr, Str};
        let long = Str::new("a string too long to be kept inline, on the heap");
        // Either side of the inline capacity, plain and escaped, into a
        // slot holding a heap string, a short one, or nothing.
        for len in 0..=Str::INLINE_CAP + 2 {
            let text: String = ('a'..='z').cycle().take(len).collect();
            let escaped = format!("\\\\{}", &text[..len.saturating_sub(1)]);
            for body in [text.clone(), escaped] {
                let json = format!("\"{body}\"");
                let want: String = serde_json::from_str(&json).unwrap();
                for old in [long.clone(), Str::new("x"), Str::default()] {
                    let mut slot = old.clone();
                    assert_eq!(read_into(&mut scan(&json), &mut slot), Ok(()));
                    assert_eq!(slot, want, "{json}");
                    let mut slot = Some(old);
                    assert_eq!(read_into(&mut scan(&json), &mut slot), Ok(()));
                    assert_eq!(slot.as_deref(), Some(&*want), "{json}");
                }
                let mut slot: Option<Str> = None;
                assert_eq!(read_into(&mut scan(&json), &mut slot), Ok(()));
                assert_eq!(slot.as_deref(), Some(&*want), "{json}");
                assert_eq!(read_into(&mut scan("null"), &mut slot), Ok(()));
                assert_eq!(slot, None);
            }
        }
        // Numbers and strings into one slot, in turn: the form follows the
        // last value read, up to the largest integer.
        let mut slot = NumOrStr::text(long.clone());
        for (json, text, numeric) in [
            ("18446744073709551615", "18446744073709551615", true),
            ("\"7\"", "7", false),
            ("0", "0", true),
            (
                "\"abcdefghijklmnopqrstuvwxyz\"",
                "abcdefghijklmnopqrstuvwxyz",
                false,
            ),
        ] {
            assert_eq!(read_into(&mut scan(json), &mut slot), Ok(()));
            assert_eq!((slot.as_str(), slot.is_number()), (text, numeric), "{json}");
            assert_eq!(serde_json::to_string(&slot).unwrap(), json);
        }
        let mut slot: Option<NumOrStr> = Some(NumOrStr::text(long));
        assert_eq!(read_into(&mut scan("12"), &mut slot), Ok(()));
        assert_eq!(slot, Some(NumOrStr::from(12)));
        // A bail leaves the slot fit to drop and reports no value.
        let mut slot = Str::new("kept");
        assert_eq!(read_into(&mut scan("\"open"), &mut slot), Err(Bail));
        assert_eq!(
            read_into(&mut scan("-1"), &mut NumOrStr::default()),
            Err(Bail)
        );
    }
}

#[cfg(test)]
mod corpus {
    use crate::wire::{fast_action, fast_envelope};
    use crate::{ccai, leaddesk, zoom};

    const ZOOM: &str = include_str!("../../tests/fixtures/zoom/events.jsonl");
    const LEADDESK: &str = include_str!("../../tests/fixtures/leaddesk/events.jsonl");
    const CCAI: &str = include_str!("../../tests/fixtures/ccai/events.jsonl");

    fn lines(text: &str) -> impl Iterator<Item = &str> {
        text.lines().filter(|l| !l.trim().is_empty())
    }

    /// The fixtures are the usual traffic: all of it takes the fast path,
    /// and the fast path's answer is the serde decoder's.
    #[test]
    fn fixtures_take_the_fast_path() {
        let mut missed = Vec::new();
        for line in lines(ZOOM) {
            match fast_envelope::<zoom::ZoomMessage>(line) {
                Ok(m) => assert_eq!(Ok(m), crate::wire::decode_envelope_serde(line), "{line}"),
                Err(_) => missed.push(line.to_owned()),
            }
        }
        for line in lines(LEADDESK) {
            match fast_action::<leaddesk::TalkMessage>(line) {
                Ok(m) => assert_eq!(Ok(m), crate::wire::decode_action_serde(line), "{line}"),
                Err(_) => missed.push(line.to_owned()),
            }
        }
        for line in lines(CCAI) {
            let line = if line.starts_with('"') {
                serde_json::from_str(line).unwrap()
            } else {
                line.to_owned()
            };
            match fast_envelope::<ccai::AdapterEvent>(&line) {
                Ok(m) => assert_eq!(Ok(m), crate::wire::decode_envelope_serde(&line), "{line}"),
                Err(_) => missed.push(line),
            }
        }
        assert!(missed.is_empty(), "bailed: {missed:#?}");
    }
}

/// The fast path against serde_json alone, on the fixtures mutated at the
/// token level: every answer the fast path gives must be serde_json's.
#[cfg(test)]
mod differential {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    use super::{Bail, json_string};
    use crate::__private::decode_without_fast_path;
    use crate::Vendor;

    const FIXTURES: [(Vendor, &str); 3] = [
        (
            Vendor::Zoom,
            include_str!("../../tests/fixtures/zoom/events.jsonl"),
        ),
        (
            Vendor::LeadDesk,
            include_str!("../../tests/fixtures/leaddesk/events.jsonl"),
        ),
        (
            Vendor::Ccai,
            include_str!("../../tests/fixtures/ccai/events.jsonl"),
        ),
    ];

    /// Values the fast path must either read exactly or refuse.
    const VALUES: &[&str] = &[
        "0",
        "-0",
        "-1",
        "7",
        "01",
        "1.5",
        "1e3",
        "2E-2",
        "18446744073709551615",
        "18446744073709551616",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "1e400",
        "true",
        "false",
        "null",
        "nul",
        r#""""#,
        r#""x""#,
        r#""a\"b""#,
        r#""\u00e9t\u00e9 ü""#,
        r#""\ud800""#,
        "\"a\u{1}b\"",
        r#""a\/b\\c""#,
        r#""2024-03-05 14:07:09""#,
        r#""2024-03-05T14:07:09.5""#,
        r#""2024-02-30 10:00:00""#,
        r#""2024-05-01T10:00:00Z""#,
        r#""4:07""#,
        r#""NaN:NaN""#,
        r#""in""#,
        r#""end-user""#,
        r#""requested""#,
        "[]",
        "[1,2]",
        r#"["a",{"b":null}]"#,
        "{}",
        r#"{"email":"a@b.c","type":"email"}"#,
        r#"{"x":1.25,"y":[true]}"#,
        r#"[{"engagementId":"e1"}]"#,
    ];

    /// Keys to swap in for a member's key.
    const KEYS: &[&str] = &[
        r#""type""#,
        r#""data""#,
        r#""action""#,
        r#""\u0074ype""#,
        r#""extra""#,
        r#""id""#,
        r#""engagementId""#,
        r#""agent_id""#,
        r#""""#,
        r#""a\nb""#,
    ];

    const NOISE: &[&str] = &[
        " ", "\n", "\t", "\r", "  ", "{", "}", "[", "]", ",", ":", "\"", "\\", "-", ".", "e", "0",
        "\u{1}", "é",
    ];

    /// One token of JSON text: its span and whether it is a key.
    fn tokens(text: &str) -> Vec<(usize, usize, bool)> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let start = i;
            match bytes[i] {
                b'"' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i = (i + 1).min(bytes.len());
                    let rest = text[i..].trim_start();
                    out.push((start, i, rest.starts_with(':')));
                }
                b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                    while i < bytes.len() && !b",}] \n\t\r".contains(&bytes[i]) {
                        i += 1;
                    }
                    out.push((start, i, false));
                }
                _ => i += 1,
            }
        }
        out
    }

    /// Applies one edit; `at` and `pick` choose where and what.
    fn mutate(text: &str, op: u8, at: usize, pick: usize) -> String {
        let toks = tokens(text);
        let values: Vec<_> = toks.iter().filter(|t| !t.2).collect();
        let keys: Vec<_> = toks.iter().filter(|t| t.2).collect();
        let splice =
            |(s, e): (usize, usize), with: &str| format!("{}{}{}", &text[..s], with, &text[e..]);
        match op % 6 {
            0 if !values.is_empty() => {
                let t = values[at % values.len()];
                splice((t.0, t.1), VALUES[pick % VALUES.len()])
            }
            1 if !keys.is_empty() => {
                let t = keys[at % keys.len()];
                splice((t.0, t.1), KEYS[pick % KEYS.len()])
            }
            // Repeat a `"key":value` member right after itself.
            2 if !keys.is_empty() => {
                let k = keys[at % keys.len()];
                match toks.iter().find(|t| t.0 > k.1 && !t.2) {
                    Some(v) if text[k.1..v.0].trim() == ":" => {
                        let member = &text[k.0..v.1];
                        splice((v.1, v.1), &format!(",{member}"))
                    }
                    _ => text.to_owned(),
                }
            }
            // Drop a member with the comma before it.
            3 if !keys.is_empty() => {
                let k = keys[at % keys.len()];
                match toks.iter().find(|t| t.0 > k.1 && !t.2) {
                    Some(v) if text[k.1..v.0].trim() == ":" && text[..k.0].ends_with(',') => {
                        splice((k.0 - 1, v.1), "")
                    }
                    _ => text.to_owned(),
                }
            }
            // Whitespace (or anything) between tokens.
            4 if !toks.is_empty() => {
                let t = toks[at % toks.len()];
                splice((t.1, t.1), [" ", "\n", "\t", "\r\n", "  "][pick % 5])
            }
            _ => {
                let mut cut = at % (text.len() + 1);
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                splice((cut, cut), NOISE[pick % NOISE.len()])
            }
        }
    }

    fn lines() -> Vec<(Vendor, &'static str)> {
        FIXTURES
            .iter()
            .flat_map(|(v, text)| {
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(move |l| (*v, l))
            })
            .collect()
    }

    fn agree(vendor: Vendor, text: &str) -> Result<bool, TestCaseError> {
        let fast = crate::decode(vendor, text);
        let slow = decode_without_fast_path(vendor, text);
        match (&fast, &slow) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a, b, "{}", text);
                prop_assert_eq!(a.to_value(), b.to_value(), "{}", text);
            }
            (Err(a), Err(b)) => {
                prop_assert_eq!(a.kind(), b.kind(), "{}", text);
                prop_assert_eq!(a.to_string(), b.to_string(), "{}", text);
            }
            _ => prop_assert!(false, "{text}: fast {fast:?} against serde {slow:?}"),
        }
        // Did the fast path answer? (It makes no errors of its own.)
        let took_fast = match vendor {
            Vendor::LeadDesk => {
                crate::wire::fast_action::<crate::leaddesk::TalkMessage>(text).is_ok()
            }
            Vendor::Zoom => crate::wire::fast_envelope::<crate::zoom::ZoomMessage>(text).is_ok(),
            _ => {
                let inner: Option<String> = serde_json::from_str(text).ok();
                crate::wire::fast_envelope::<crate::ccai::AdapterEvent>(
                    inner.as_deref().unwrap_or(text),
                )
                .is_ok()
            }
        };
        Ok(took_fast)
    }

    #[test]
    fn fast_path_agrees_with_serde_json() {
        let lines = lines();
        let edits = proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..4);
        let strategy = (0..lines.len(), edits);
        let fast = AtomicUsize::new(0);
        let total = AtomicUsize::new(0);
        let mut runner = TestRunner::new(Config {
            cases: 6000,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&strategy, |(line, edits)| {
            let (vendor, mut text) = (lines[line].0, lines[line].1.to_owned());
            for (op, at, pick) in edits {
                text = mutate(&text, op, at, pick);
            }
            total.fetch_add(1, Ordering::Relaxed);
            if agree(vendor, &text)? {
                fast.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        // The comparison means something only if the fast path often
        // answers: most single edits keep a message well-formed.
        let (fast, total) = (fast.into_inner(), total.into_inner());
        assert!(fast * 5 > total, "fast path answered {fast} of {total}");
    }

    /// One piece of an escaped JSON string: a plain character, one of
    /// the short escapes, or a `\u` escape of any code unit.
    fn escape_piece() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<char>()
                .prop_filter("not special", |c| !matches!(c, '"' | '\\') && *c >= ' ')
                .prop_map(String::from),
            proptest::sample::select(vec![
                "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"
            ])
            .prop_map(String::from),
            any::<u16>().prop_map(|u| format!("\\u{u:04x}")),
            (0xD800u16..0xDC00, 0xDC00u16..0xE000)
                .prop_map(|(hi, lo)| format!("\\u{hi:04X}\\u{lo:04x}")),
        ]
    }

    proptest! {
        /// Escaped strings decode to what serde_json makes of them; only
        /// surrogates that do not pair up are left to serde_json.
        #[test]
        fn escaped_strings_agree_with_serde_json(
            pieces in proptest::collection::vec(escape_piece(), 0..12),
        ) {
            let text = format!("\"{}\"", pieces.concat());
            let serde: Result<String, _> = serde_json::from_str(&text);
            match json_string(&text) {
                Ok(ours) => prop_assert_eq!(Some(ours), serde.ok(), "{}", text),
                Err(Bail) => {
                    // Only a surrogate escape may send a string back.
                    let surrogate = pieces.iter().any(|p| {
                        p.strip_prefix("\\u")
                            .and_then(|hex| u16::from_str_radix(hex.get(..4)?, 16).ok())
                            .is_some_and(|unit| (0xD800..0xE000).contains(&unit))
                    });
                    prop_assert!(surrogate, "bailed on {}", text);
                }
            }
        }

        /// Any text at all: no panic, and the same answer.
        #[test]
        fn any_text_gets_the_same_answer(text in "\\PC{0,80}", vendor in 0..3usize) {
            let vendor = [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai][vendor];
            agree(vendor, &text)?;
        }

        /// Text built from the grammar's own pieces.
        #[test]
        fn json_like_text_gets_the_same_answer(
            parts in proptest::collection::vec(0..NOISE.len() + VALUES.len() + KEYS.len(), 0..24),
            vendor in 0..3usize,
        ) {
            let vendor = [Vendor::Zoom, Vendor::LeadDesk, Vendor::Ccai][vendor];
            let text: String = parts
                .iter()
                .map(|&i| {
                    if i < NOISE.len() {
                        NOISE[i]
                    } else if i < NOISE.len() + VALUES.len() {
                        VALUES[i - NOISE.len()]
                    } else {
                        KEYS[i - NOISE.len() - VALUES.len()]
                    }
                })
                .collect();
            agree(vendor, &text)?;
        }
    }
}

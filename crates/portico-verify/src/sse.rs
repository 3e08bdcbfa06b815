//! A Server-Sent Events parser (WHATWG HTML, "Interpreting an event stream") for the
//! revocation feed: bytes in, messages out, whatever way the network splits them.

/// One dispatched message. `event` is empty when the stream named no type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SseMessage {
    pub(crate) id: Option<String>,
    pub(crate) event: String,
    pub(crate) data: String,
}

/// The stream broke a limit; the caller drops the connection.
#[derive(Debug, thiserror::Error)]
#[error("an event-stream message exceeds {0} bytes")]
pub(crate) struct SseTooLarge(usize);

pub(crate) struct SseParser {
    /// The incomplete line at the end of the bytes seen so far.
    line: Vec<u8>,
    /// The last chunk ended in CR: a LF starting the next chunk belongs to that line end.
    after_cr: bool,
    first_line: bool,
    pending: SseMessage,
    has_fields: bool,
    /// Bytes of the message being assembled, bounded so a hostile stream cannot exhaust memory.
    pending_bytes: usize,
    max_bytes: usize,
}

impl SseParser {
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self {
            line: Vec::new(),
            after_cr: false,
            first_line: true,
            pending: SseMessage::default(),
            has_fields: false,
            pending_bytes: 0,
            max_bytes,
        }
    }

    /// Feeds `chunk` and appends every message it completes to `out`.
    pub(crate) fn push(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<SseMessage>,
    ) -> Result<(), SseTooLarge> {
        let mut rest = chunk;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        // Lines end with CRLF, LF or CR.
        while let Some(pos) = rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
            self.line.extend_from_slice(&rest[..pos]);
            self.check_size()?;
            let cr = rest[pos] == b'\r';
            rest = &rest[pos + 1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out);
            self.line = line;
            self.line.clear();
        }
        self.line.extend_from_slice(rest);
        self.check_size()
    }

    fn check_size(&self) -> Result<(), SseTooLarge> {
        if self.pending_bytes + self.line.len() > self.max_bytes {
            return Err(SseTooLarge(self.max_bytes));
        }
        Ok(())
    }

    fn process_line(&mut self, mut line: &[u8], out: &mut Vec<SseMessage>) {
        if std::mem::take(&mut self.first_line) {
            // A UTF-8 byte order mark at the start of the stream is not part of the line.
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            // A comment, e.g. the `: ping` heartbeat; the caller counts it as activity.
            return;
        }
        self.pending_bytes += line.len() + 1;
        let (field, value) = match line.iter().position(|b| *b == b':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        let value = String::from_utf8_lossy(value);
        match field {
            b"data" => {
                self.pending.data.push_str(&value);
                self.pending.data.push('\n');
                self.has_fields = true;
            }
            b"event" => {
                self.pending.event = value.into_owned();
                self.has_fields = true;
            }
            // The standard ignores ids containing NUL.
            b"id" if !value.contains('\0') => {
                self.pending.id = Some(value.into_owned());
                self.has_fields = true;
            }
            // `retry` and unknown fields: the reconnect policy is ours.
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseMessage>) {
        self.pending_bytes = 0;
        if !std::mem::take(&mut self.has_fields) {
            return;
        }
        let mut message = std::mem::take(&mut self.pending);
        if message.data.ends_with('\n') {
            message.data.pop();
        }
        out.push(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<SseMessage> {
        let mut parser = SseParser::new(1 << 20);
        let mut out = Vec::new();
        for chunk in chunks {
            parser.push(chunk, &mut out).unwrap();
        }
        out
    }

    fn msg(id: Option<&str>, event: &str, data: &str) -> SseMessage {
        SseMessage {
            id: id.map(str::to_owned),
            event: event.to_owned(),
            data: data.to_owned(),
        }
    }

    const STREAM: &str = ": hello\n\
        id: 7\nevent: snapshot\ndata: {\"a\":1}\n\n\
        : ping\n\n\
        id: 8\r\nevent: app\r\ndata: {\"client_id\":\r\ndata:  \"x\"}\r\n\r\n\
        id:9\revent:keys\rdata:{}\r\r\
        event: jti\ndata\nid: 10\nretry: 5\nunknown: field\n\n";

    fn expected() -> Vec<SseMessage> {
        vec![
            msg(Some("7"), "snapshot", "{\"a\":1}"),
            // Only the first space after the colon goes; the second belongs to the value.
            msg(Some("8"), "app", "{\"client_id\":\n \"x\"}"),
            msg(Some("9"), "keys", "{}"),
            msg(Some("10"), "jti", ""),
        ]
    }

    #[test]
    fn parses_lf_crlf_cr_comments_and_multi_line_data() {
        assert_eq!(parse_chunks(&[STREAM.as_bytes()]), expected());
    }

    #[test]
    fn every_split_point_gives_the_same_messages() {
        let bytes = STREAM.as_bytes();
        for split in 0..=bytes.len() {
            let (a, b) = bytes.split_at(split);
            assert_eq!(parse_chunks(&[a, b]), expected(), "split at {split}");
        }
        // One byte at a time, including empty chunks between them.
        let chunks: Vec<&[u8]> = bytes.chunks(1).flat_map(|c| [c, &[][..]]).collect();
        assert_eq!(parse_chunks(&chunks), expected());
    }

    #[test]
    fn an_unterminated_message_is_not_dispatched() {
        assert!(parse_chunks(&[b"id: 1\nevent: app\ndata: {}\n"]).is_empty());
        assert!(parse_chunks(&[b": only a comment\n\n\n"]).is_empty());
    }

    #[test]
    fn a_leading_bom_is_skipped_and_bad_utf8_does_not_panic() {
        let out = parse_chunks(&[b"\xEF\xBB\xBFid: 1\ndata: \xFF\n\n"]);
        assert_eq!(out, vec![msg(Some("1"), "", "\u{FFFD}")]);
    }

    #[test]
    fn oversized_messages_are_refused() {
        let mut parser = SseParser::new(64);
        let mut out = Vec::new();
        assert!(parser.push(&[b'a'; 65], &mut out).is_err());
        let mut parser = SseParser::new(64);
        for _ in 0..6 {
            if parser.push(b"data: 0123456789\n", &mut out).is_err() {
                return;
            }
        }
        panic!("a message of many small lines must hit the limit too");
    }
}

//! Reading what `avn vpc peering-connection get -v` prints: `State:`, `Message:` and the state
//! info table with `TO-TENANT-ID` and `TO-NETWORK-ID` (seed step 12).

/// What `avn vpc peering-connection get -v` printed: the state, the message and the state
/// info table (`TO-TENANT-ID`, `TO-NETWORK-ID`, `TYPE`, …).
#[derive(Debug, Clone, Default)]
pub struct ConnectionDetails {
    pub state: String,
    pub message: String,
    pub columns: Vec<(String, String)>,
}

impl ConnectionDetails {
    /// Parses `State: …`, `Message: …` and the table under them (a header line, a line of
    /// `=` runs that give the column bounds, a line of values).
    pub fn parse(text: &str) -> Result<ConnectionDetails, String> {
        let mut details = ConnectionDetails::default();
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines {
            if let Some(state) = line.strip_prefix("State: ") {
                details.state = state.trim().to_string();
            } else if let Some(message) = line.strip_prefix("Message: ") {
                details.message = message.trim().to_string();
            }
        }
        if details.state.is_empty() {
            return Err(format!(
                "no `State:` line in the output of `avn vpc peering-connection get -v`:\n{text}"
            ));
        }
        let rule = lines.iter().position(|line| {
            !line.trim().is_empty()
                && line
                    .chars()
                    .all(|character| character == '=' || character == ' ')
        });
        if let Some(rule) = rule.filter(|rule| *rule > 0 && rule + 1 < lines.len()) {
            let (header, values) = (lines[rule - 1], lines[rule + 1]);
            for (start, end) in column_bounds(lines[rule]) {
                details
                    .columns
                    .push((slice(header, start, end), slice(values, start, end)));
            }
        }
        Ok(details)
    }

    /// A column of the state info table.
    pub fn field(&self, name: &str) -> Result<String, String> {
        self.columns
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty())
            .ok_or_else(|| {
                format!(
                    "`avn vpc peering-connection get -v` shows no {name} (columns: {:?})",
                    self.columns
                )
            })
    }
}

/// The character ranges of the `=` runs of a table rule.
fn column_bounds(rule: &str) -> Vec<(usize, usize)> {
    let mut bounds = Vec::new();
    let mut start = None;
    for (index, character) in rule.char_indices() {
        match (character, start) {
            ('=', None) => start = Some(index),
            (' ', Some(begin)) => {
                bounds.push((begin, index));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(begin) = start {
        bounds.push((begin, rule.len()));
    }
    bounds
}

fn slice(line: &str, start: usize, end: usize) -> String {
    let end = end.min(line.len());
    line.get(start.min(end)..end)
        .unwrap_or("")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_info_table_of_avn_get_is_read_by_its_rule() {
        let text = "State: PENDING_PEER\nMessage: Pending peering connection\n\nTO-NETWORK-ID                 TO-TENANT-ID  TYPE        \n============================  ============  ============\n/subscriptions/s/virtualNets  t-1           pending-peer\n";
        let details = ConnectionDetails::parse(text).unwrap();
        assert_eq!(details.state, "PENDING_PEER");
        assert_eq!(details.message, "Pending peering connection");
        assert_eq!(
            details.field("TO-NETWORK-ID").unwrap(),
            "/subscriptions/s/virtualNets"
        );
        assert_eq!(details.field("TO-TENANT-ID").unwrap(), "t-1");
        assert_eq!(details.field("TYPE").unwrap(), "pending-peer");
        assert!(details.field("MISSING").is_err());
        let active =
            ConnectionDetails::parse("State: ACTIVE\nMessage: ok\n\nTYPE  \n======\nactive\n")
                .unwrap();
        assert_eq!(active.field("TYPE").unwrap(), "active");
        assert!(ConnectionDetails::parse("Peering connection does not exist").is_err());
    }
}

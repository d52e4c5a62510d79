// The one escaping of text that came from the network (replies, bounces, webhooks) before it
// reaches a log line, the store or a terminal: control characters never pass raw.
#pragma once

#include <string>
#include <string_view>

namespace bouncegate {

// C0 controls, DEL and the UTF-8 forms of C1 controls (U+0080..U+009F, which some terminals
// obey: CSI is U+009B) become \xHH (C1: \u00HH), and so does every byte that is not part of
// valid UTF-8 (a lone 0x9B is CSI to a terminal not in UTF-8 mode); a backslash becomes "\\"
// so the escaping cannot be forged. With `keep_newlines`, LF is kept (multi-line replies stored
// whole).
std::string escape_control(std::string_view s, bool keep_newlines = false);

// For stored texts: the same, but a backslash stays as it is, so that storing a text that is
// already escaped (an export imported again) changes nothing. Terminal and log output still
// go through escape_control.
std::string escape_control_for_storage(std::string_view s);

// True when escape_control would change `s`.
bool has_control(std::string_view s);

}  // namespace bouncegate

// Logging for journald: one line per event on stderr with a <N> priority prefix, key=value
// text by default or JSON lines. Never given a password or token secret.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace bouncegate {

enum class LogLevel { debug = 7, info = 6, notice = 5, warning = 4, error = 3 };

void log_configure(bool json, std::string_view level, std::string_view program);

// `id` is the Postfix queue id or a session id ("" for none); it leads the line.
void log_event(LogLevel level, std::string_view id, std::string_view message,
               std::initializer_list<std::pair<std::string_view, std::string>> fields = {});

// A value quoted for key=value logs when it holds spaces or quotes.
std::string log_quote(std::string_view v);

}  // namespace bouncegate

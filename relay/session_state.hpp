// The client-side SMTP state machine: sequence rules, local limits and the transaction's
// bookkeeping. It decides; the Asio session (session.cpp) performs. No I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/reply_policy.hpp"
#include "relay/smtp_command.hpp"

namespace bouncegate {

struct Transaction {
  CommandLine mail;  // as received, forwarded upstream (filtered) at the first RCPT
  int rcpt_seen = 0;
  std::vector<std::string> accepted;  // normalised addresses the upstream accepted
};

class SessionState {
 public:
  SessionState(int max_recipients, uint64_t max_message_size)
      : max_recipients_(max_recipients), max_size_(max_message_size) {}

  // A reply when the command is answered here (syntax, sequence, limits); nullopt: go on.
  std::optional<SmtpReplyText> check(const CommandLine& c) const;

  void greeted() {
    greeted_ = true;
    reset();
  }
  void mail_started(const CommandLine& c) {
    txn_ = Transaction{};
    txn_.mail = c;
    in_mail_ = true;
  }
  void rcpt_seen() { ++txn_.rcpt_seen; }
  void rcpt_accepted(const std::string& address) { txn_.accepted.push_back(address); }
  // After RSET, HELO/EHLO, DATA end or a refused DATA: per-message state goes.
  void reset() {
    txn_ = Transaction{};
    in_mail_ = false;
  }
  bool in_mail() const { return in_mail_; }
  const Transaction& txn() const { return txn_; }

 private:
  int max_recipients_;
  uint64_t max_size_;
  bool greeted_ = false;
  bool in_mail_ = false;
  Transaction txn_;
};

}  // namespace bouncegate

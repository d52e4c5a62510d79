// A DSN delivered by Postfix's pipe transport to `bouncegate ingest` while Redis is down: ingest
// exits 75, Postfix keeps the bounce and retries; once Redis is back the retry records it and the
// milter refuses the next message to that recipient.
#include <gtest/gtest.h>

#include <regex>

#include "core/config.hpp"
#include "core/store.hpp"
#include "tests/faults/fault_rig.hpp"
#include "tests/support/dsn_samples.hpp"

namespace bouncegate::test {
namespace {

TEST(IngestFault, PipeTransportDefersWhileRedisDownRetryRecordsAndMilterRefuses) {
  RigOptions o;
  o.main_cf_extra = {"transport_maps = inline:{ bounces.test=bouncegate: }",
                     "bouncegate_destination_recipient_limit = 1"};
  o.master_cf_extra = {"bouncegate unix - n n - - pipe flags=q user=nobody argv=" +
                       bin("bouncegate") + " --config @CONFIG@ ingest"};
  FaultRig rig(o);
  const std::string gone = "gone@example.net";

  // Before the outage (the rig's Redis is append-only, so it survives the restart): the
  // original went out through this site (feedback.require_match): as the relay records it.
  {
    auto cfg = load_config(rig.config);
    SuppressionStore(cfg->redis, cfg->suppression)
        .remember_message("orig-fault@example.com", {{"queue_id", "4Qfault"}}, {gone});
  }
  rig.redis.stop();
  // The DSN comes in like any other mail (sendmail → pickup: no milter on that path).
  RunResult drop = run({"sendmail", "-C", rig.postfix->config_directory(), "-f",
                        "MAILER-DAEMON@mx.example.net", "bounces@bounces.test"},
                       sample_dsn({{gone, "failed", "5.1.1", ""}}, "bounces@bounces.test",
                                  "orig-fault@example.com"));
  ASSERT_EQ(drop.exit_code, 0) << drop.err;
  ASSERT_TRUE(rig.postfix->wait_maillog("status=deferred", 20000)) << rig.logs();
  std::string log = rig.postfix->maillog();
  // Exit 75 (EX_TEMPFAIL) is a temporary failure of the pipe: the bounce stays queued.
  EXPECT_TRUE(std::regex_search(
      log, std::regex("to=<bounces@bounces\\.test>, relay=bouncegate,.*status=deferred")))
      << log;
  EXPECT_EQ(rig.queued(), 1) << log;

  rig.redis.start();
  ASSERT_TRUE(rig.flush_and_wait_empty(30000)) << rig.logs();
  log = rig.postfix->maillog();
  EXPECT_TRUE(std::regex_search(
      log, std::regex("to=<bounces@bounces\\.test>, relay=bouncegate,.*status=sent")))
      << log;
  std::string entry = rig.show(gone);
  EXPECT_NE(entry.find("\"class\":\"hard\""), std::string::npos) << entry;
  EXPECT_NE(entry.find("\"source\":\"dsn\""), std::string::npos) << entry;

  Submission next = rig.submit(gone, "ingest-next");
  EXPECT_EQ(next.reply.rfind("550 5.1.1", 0), 0u) << next.transcript;
  EXPECT_EQ(rig.delivered("ingest-next"), 0);
  EXPECT_EQ(rig.queued(), 0);
}

}  // namespace
}  // namespace bouncegate::test

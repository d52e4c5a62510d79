// Webhook POSTs with Beast: resolve, connect, (TLS,) write, read, all under one deadline.
// clang-format off
#include <utility>  // first: Boost 1.74's awaitable.hpp uses std::exchange without including it
// clang-format on
#include "web/webhook_client.hpp"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <thread>

namespace bouncegate::web {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::optional<WebhookUrl> parse_webhook_url(const std::string& url, std::string* why) {
  WebhookUrl u;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    *why = "expected http:// or https://";
    return std::nullopt;
  }
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  } else {
    u.host = authority;
    u.port = u.tls ? "443" : "80";
  }
  if (u.host.size() > 2 && u.host.front() == '[' && u.host.back() == ']')
    u.host = u.host.substr(1, u.host.size() - 2);
  if (u.host.empty() || u.port.empty() ||
      u.port.find_first_not_of("0123456789") != std::string::npos) {
    *why = "no host or a bad port";
    return std::nullopt;
  }
  return u;
}

namespace {

template <typename Stream>
int exchange(Stream& stream, const WebhookUrl& url,
             const std::map<std::string, std::string>& headers, const std::string& body) {
  http::request<http::string_body> req{http::verb::post, url.target, 11};
  req.set(http::field::host, url.host);
  req.set(http::field::user_agent, "bouncegate-web");
  req.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);  // the answer's body is not used; bounded anyway
  http::read(stream, buf, parser);
  return parser.get().result_int();
}

}  // namespace

int post_webhook(const WebhookUrl& url, const std::map<std::string, std::string>& headers,
                 const std::string& body, Millis timeout) {
  net::io_context ioc;
  // A watchdog shuts the socket down at the deadline: a blocked read or write then fails (a
  // connect that the kernel keeps trying is bounded by its own SYN retries).
  try {
    tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(url.host, url.port);
    tcp::socket sock(ioc);
    std::thread guard;
    std::atomic<bool> done{false};
    auto watch = [&] {
      auto until = std::chrono::steady_clock::now() + timeout;
      while (!done && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (!done) {
        boost::system::error_code ignored;
        sock.shutdown(tcp::socket::shutdown_both, ignored);
      }
    };
    struct Join {
      std::thread& t;
      std::atomic<bool>& d;
      ~Join() {
        d = true;
        if (t.joinable()) t.join();
      }
    } join{guard, done};
    guard = std::thread(watch);
    net::connect(sock, endpoints);
    if (!url.tls) return exchange(sock, url, headers, body);
    net::ssl::context ctx(net::ssl::context::tls_client);
    ctx.set_default_verify_paths();
    ctx.set_verify_mode(net::ssl::verify_peer);
    ctx.set_verify_callback(net::ssl::host_name_verification(url.host));
    net::ssl::stream<tcp::socket&> tls(sock, ctx);
    SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str());
    tls.handshake(net::ssl::stream_base::client);
    return exchange(tls, url, headers, body);
  } catch (const boost::system::system_error& e) {
    throw WebhookTransportError(e.code().message());
  }
}

}  // namespace bouncegate::web

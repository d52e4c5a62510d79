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

using net::awaitable;
using net::use_awaitable;

http::request<http::string_body> make_request(const WebhookUrl& url,
                                              const std::map<std::string, std::string>& headers,
                                              const std::string& body) {
  http::request<http::string_body> req{http::verb::post, url.target, 11};
  req.set(http::field::host, url.host);
  req.set(http::field::user_agent, "bouncegate-web");
  req.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  return req;
}

template <typename Stream>
awaitable<int> send_and_read(Stream& stream, const http::request<http::string_body>& req) {
  co_await http::async_write(stream, req, use_awaitable);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);  // the answer's body is not used; bounded anyway
  co_await http::async_read(stream, buf, parser, use_awaitable);
  co_return parser.get().result_int();
}

// Every step (resolve, connect, handshake, write, read) runs under one deadline: the
// tcp_stream's timer cancels whatever is pending when it fires.
awaitable<int> post(const WebhookUrl& url, http::request<http::string_body> req,
                    std::chrono::steady_clock::time_point deadline) {
  auto ex = co_await net::this_coro::executor;
  tcp::resolver resolver(ex);
  net::steady_timer guard(ex);
  guard.expires_at(deadline);
  guard.async_wait([&resolver](const boost::system::error_code& ec) {
    if (!ec) resolver.cancel();
  });
  auto endpoints = co_await resolver.async_resolve(url.host, url.port, use_awaitable);
  guard.cancel();
  beast::tcp_stream tcp(ex);
  tcp.expires_at(deadline);
  co_await tcp.async_connect(endpoints, use_awaitable);
  if (!url.tls) co_return co_await send_and_read(tcp, req);
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.set_default_verify_paths();
  ctx.set_verify_mode(net::ssl::verify_peer);
  ctx.set_verify_callback(net::ssl::host_name_verification(url.host));
  beast::ssl_stream<beast::tcp_stream> tls(std::move(tcp), ctx);
  if (!SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str()))
    throw WebhookTransportError("cannot set the TLS server name");
  beast::get_lowest_layer(tls).expires_at(deadline);
  co_await tls.async_handshake(net::ssl::stream_base::client, use_awaitable);
  co_return co_await send_and_read(tls, req);
}

}  // namespace

int post_webhook(const WebhookUrl& url, const std::map<std::string, std::string>& headers,
                 const std::string& body, Millis timeout) {
  net::io_context ioc;
  std::optional<int> status;
  std::exception_ptr failure;
  net::co_spawn(
      ioc, post(url, make_request(url, headers, body), std::chrono::steady_clock::now() + timeout),
      [&](std::exception_ptr e, int s) {
        if (e)
          failure = e;
        else
          status = s;
      });
  ioc.run();
  if (status) return *status;
  try {
    if (failure) std::rethrow_exception(failure);
  } catch (const boost::system::system_error& e) {
    throw WebhookTransportError(e.code() == beast::error::timeout ? "timed out"
                                                                  : e.code().message());
  } catch (const WebhookTransportError&) {
    throw;
  } catch (const std::exception& e) {
    throw WebhookTransportError(e.what());
  }
  throw WebhookTransportError("no answer");
}

}  // namespace bouncegate::web

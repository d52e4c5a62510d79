// HTTP requests with Beast: resolve, connect, (TLS,) write, read, all under one deadline.
// clang-format off
#include <utility>  // first: Boost 1.74's awaitable.hpp uses std::exchange without including it
// clang-format on
#include "core/http_client.hpp"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <thread>

namespace bouncegate {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::optional<HttpUrl> parse_http_url(const std::string& url, std::string* why) {
  HttpUrl u;
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

std::string form_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

namespace {

using net::awaitable;
using net::use_awaitable;

http::request<http::string_body> make_request(const HttpUrl& url, const HttpRequest& r) {
  http::verb verb = http::string_to_verb(r.method);
  if (verb == http::verb::unknown) throw HttpTransportError("unknown method " + r.method);
  http::request<http::string_body> req{verb, url.target, 11};
  req.set(http::field::host, url.host);
  req.set(http::field::user_agent, "bouncegate/" BOUNCEGATE_VERSION);
  if (!r.body.empty() || verb == http::verb::post || verb == http::verb::put)
    req.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : r.headers) req.set(k, v);
  req.body() = r.body;
  req.prepare_payload();
  return req;
}

template <typename Stream>
awaitable<HttpAnswer> send_and_read(Stream& stream, const http::request<http::string_body>& req,
                                    size_t body_limit) {
  co_await http::async_write(stream, req, use_awaitable);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  co_await http::async_read(stream, buf, parser, use_awaitable);
  HttpAnswer a;
  a.status = parser.get().result_int();
  a.body = parser.get().body();
  for (const auto& f : parser.get()) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    a.headers[name] = std::string(f.value());
  }
  co_return a;
}

// Every step (resolve, connect, handshake, write, read) runs under one deadline: the
// tcp_stream's timer cancels whatever is pending when it fires.
awaitable<HttpAnswer> run(const HttpUrl& url, http::request<http::string_body> req,
                          const HttpRequest& r, std::chrono::steady_clock::time_point deadline) {
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
  if (!url.tls) co_return co_await send_and_read(tcp, req, r.body_limit);
  net::ssl::context ctx(net::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  if (r.ca_file.empty())
    ctx.set_default_verify_paths();
  else
    ctx.load_verify_file(r.ca_file);
  ctx.set_verify_mode(net::ssl::verify_peer);
  ctx.set_verify_callback(net::ssl::host_name_verification(url.host));
  beast::ssl_stream<beast::tcp_stream> tls(std::move(tcp), ctx);
  if (!SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str()))
    throw HttpTransportError("cannot set the TLS server name");
  beast::get_lowest_layer(tls).expires_at(deadline);
  co_await tls.async_handshake(net::ssl::stream_base::client, use_awaitable);
  co_return co_await send_and_read(tls, req, r.body_limit);
}

}  // namespace

HttpAnswer http_request(const HttpUrl& url, const HttpRequest& r) {
  net::io_context ioc;
  std::optional<HttpAnswer> answer;
  std::exception_ptr failure;
  auto req = make_request(url, r);
  net::co_spawn(ioc, run(url, std::move(req), r, std::chrono::steady_clock::now() + r.timeout),
                [&](std::exception_ptr e, HttpAnswer a) {
                  if (e)
                    failure = e;
                  else
                    answer = std::move(a);
                });
  ioc.run();
  if (answer) return std::move(*answer);
  try {
    if (failure) std::rethrow_exception(failure);
  } catch (const boost::system::system_error& e) {
    throw HttpTransportError(e.code() == beast::error::timeout ? "timed out" : e.code().message());
  } catch (const HttpTransportError&) {
    throw;
  } catch (const std::exception& e) {
    throw HttpTransportError(e.what());
  }
  throw HttpTransportError("no answer");
}

}  // namespace bouncegate

# Ruby's HTTP client to a public host name (DNS then TCP).
require "net/http"
begin
  Net::HTTP.start("pypi.org", 80, open_timeout: 2) { |h| h.head("/") }
  puts "ESCAPED: HTTP"
rescue StandardError => e
  puts "CONTAINED #{e.class}"
end

# The release console's fixtures (t507x): a farm with two complete
# rebuilds of profile p, and a curl session.  Source after lib-farm.sh.
#
#   console_setup          tree, profile, builder; rebuild 1 (everything
#                          built), then dev-libs/libhello's ebuild changes
#                          and rebuild 2 (by an XSS payload) builds it and
#                          what depends on it, reusing app-misc/solo
#   console_url            the builder's URL
#   console_et             the engineer token
#   console_login NAME     logs in with curl: the cookie jar in jar
#   console_get PATH       GET with the jar into page; prints the status
#   console_post PATH DATA POST (urlencoded) with the jar into page
#   console_reason CPV     the "why built" cell of CPV in the rebuild page
#   console_need_chromium  skips the script unless Debian's chromium,
#                          chromium-driver and python3-selenium are there;
#                          CONSOLE_PY then runs the browser helpers

XSS='<script>alert("xss")</script><img src=x onerror=alert(1)>'

console_url() { cat state/builder.url; }
console_et() { sed -n "s/^engineer-token = //p" state/builder.conf; }

console_setup() {
	farm_tree gentoo &&
	farm_profile prof/p app-misc/hello app-misc/solo &&
	farm_init &&
	farm_start &&
	binfarm rebuild --profile p >out &&
	farm_worker w1 &&
	farm_wait_rebuild complete 120 &&
	cat >>gentoo/dev-libs/libhello/libhello-1.0.ebuild <<-\EOT &&
	src_configure() { echo "configure: <b>bold</b> & <script>alert(2)</script>"; }
	EOT
	farm_md5cache gentoo &&
	git -C gentoo add -A && git -C gentoo commit -q -m "libhello: configure" &&
	curl -s -o out -w "%{http_code}" -X POST \
		-H "Authorization: Bearer $(console_et)" \
		--data-binary "$(python3 -c "import json,sys; print(json.dumps({\"profile\": \"p\", \"by\": sys.argv[1]}))" "$XSS")" \
		"$(console_url)/v1/rebuild" >code &&
	test "$(cat code)" = 200 &&
	farm_wait_rebuild complete 120 &&
	farm_stop_workers
}

console_login() {
	rm -f jar &&
	curl -s -o page -w "%{http_code}" -c jar -b jar \
		--data-urlencode "token=$(console_et)" --data-urlencode "name=$1" \
		"$(console_url)/console/login" >code &&
	test "$(cat code)" = 303
}

console_get() {
	curl -s -D headers -o page -w "%{http_code}" -b jar "$(console_url)$1"
}

console_post() {
	curl -s -D headers -o page -w "%{http_code}" -b jar -d "$2" "$(console_url)$1"
}

# The CSRF token of the page in `page`.
console_csrf() {
	sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' page | head -n 1
}

console_reason() {
	tr '\n' ' ' <page | sed 's/<tr/\n<tr/g' |
		sed -n "s|^<tr class=\"job\" data-cpv=\"$1\">.*<td class=\"reason\">\(.*\)</td></tr>.*|\1|p"
}

# Debian's python3-selenium imports under the system's python3, which
# may not be the first python3 on PATH.
console_need_chromium() {
	CONSOLE_PY=
	for _py in /usr/bin/python3 python3
	do
		if "$_py" -c "import selenium" 2>/dev/null
		then
			CONSOLE_PY=$_py
			break
		fi
	done
	if ! command -v chromium >/dev/null 2>&1 ||
		! command -v chromedriver >/dev/null 2>&1 || test -z "$CONSOLE_PY"
	then
		skip_all "no headless Chromium: apt-get install chromium chromium-driver python3-selenium"
	fi
}

# Copyright 2026 Example Web Shop Ltd.
# Distributed under the terms of the GNU General Public License v2

# @ECLASS: company-webapp.eclass
# @MAINTAINER:
# web-platform@example.com
# @SUPPORTED_EAPIS: 8
# @BLURB: what every web application of the company needs
# @DESCRIPTION:
# Web applications are served by tinyhttpd with TLS; their document root
# is /usr/share/webapps/${PN}/${PV}/htdocs.

case ${EAPI} in
	8) ;;
	*) die "${ECLASS}: EAPI ${EAPI:-0} not supported" ;;
esac

if [[ -z ${_COMPANY_WEBAPP_ECLASS} ]]; then
_COMPANY_WEBAPP_ECLASS=1

IUSE="+vhosts"
RDEPEND="www-servers/tinyhttpd[ssl]"

# @FUNCTION: company-webapp_install_htdocs
# @USAGE: <file>...
# @DESCRIPTION: installs files into the document root
company-webapp_install_htdocs() {
	insinto "/usr/share/webapps/${PN}/${PV}/htdocs"
	doins "$@"
}

fi

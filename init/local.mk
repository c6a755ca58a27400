# Service files: OpenRC scripts (init.d) with their settings (conf.d),
# and systemd units that read the same conf.d files as their
# EnvironmentFile.  Made from *.in at build time with the install paths.
init_edit = sed -e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g'

openrcinitdir = $(sysconfdir)/init.d
openrcinit_SCRIPTS = init/init.d/binfarm-binhost init/init.d/binfarm-builder \
	init/init.d/binfarm-worker
openrcconfdir = $(sysconfdir)/conf.d
openrcconf_DATA = init/conf.d/binfarm-binhost init/conf.d/binfarm-builder \
	init/conf.d/binfarm-worker
SYSTEMD_UNITS = init/systemd/binfarm-binhost.service \
	init/systemd/binfarm-builder.service init/systemd/binfarm-worker.service
if BF_SYSTEMD
systemdsystemunit_DATA = $(SYSTEMD_UNITS)
endif
INIT_FILES = $(openrcinit_SCRIPTS) $(openrcconf_DATA) $(SYSTEMD_UNITS)
noinst_DATA = $(INIT_FILES)
EXTRA_DIST += $(INIT_FILES:=.in)
CLEANFILES += $(INIT_FILES)

$(INIT_FILES): Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && rm -f $@ $@.tmp && \
	$(init_edit) $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
init/init.d/binfarm-binhost: $(srcdir)/init/init.d/binfarm-binhost.in
init/init.d/binfarm-builder: $(srcdir)/init/init.d/binfarm-builder.in
init/init.d/binfarm-worker: $(srcdir)/init/init.d/binfarm-worker.in
init/conf.d/binfarm-binhost: $(srcdir)/init/conf.d/binfarm-binhost.in
init/conf.d/binfarm-builder: $(srcdir)/init/conf.d/binfarm-builder.in
init/conf.d/binfarm-worker: $(srcdir)/init/conf.d/binfarm-worker.in
init/systemd/binfarm-binhost.service: $(srcdir)/init/systemd/binfarm-binhost.service.in
init/systemd/binfarm-builder.service: $(srcdir)/init/systemd/binfarm-builder.service.in
init/systemd/binfarm-worker.service: $(srcdir)/init/systemd/binfarm-worker.service.in
EXTRA_DIST += init/.gitignore

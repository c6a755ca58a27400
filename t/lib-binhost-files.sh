# lib-binhost-files.sh: a repository whose one snapshot holds package
# files of a few sizes, for the tests that drive binfarm-binhost with
# many requests (t4090, t4095).  Source it after lib-httpd.sh.
#
#   files_snapshot C_SIZE  repo/, snapshot s1 of amd64 ($S) with Packages,
#                          Packages.gz and the files $A (30000 bytes), $B
#                          (200000), $C (C_SIZE) and $BIG (3000000), as
#                          the server names them under $P; testing -> s1
#   metric NAME            the value of a metric of the running server

command -v curl >/dev/null 2>&1 || skip_all 'curl is not installed'
command -v python3 >/dev/null 2>&1 || skip_all 'python3 is not installed'

metric() {
	curl -fsS "$(bh_url)/metrics" | sed -n "s/^$1 //p"
}

S=repo/snapshots/amd64/s1
P=/testing/amd64
A=$P/app-misc/a/a-1-1.gpkg.tar
B=$P/app-misc/b/b-1-1.gpkg.tar
C=$P/app-misc/c/c-1-1.gpkg.tar
BIG=$P/app-misc/big/big-1-1.gpkg.tar

files_snapshot() {
	make_repo repo &&
	mkdir -p $S/app-misc/a $S/app-misc/b $S/app-misc/c $S/app-misc/big &&
	printf "VERSION: 0\nTIMESTAMP: 1700000000\n\n" >$S/Packages &&
	gzip -n -k $S/Packages &&
	head -c 30000 /dev/urandom >$S/app-misc/a/a-1-1.gpkg.tar &&
	head -c 200000 /dev/urandom >$S/app-misc/b/b-1-1.gpkg.tar &&
	head -c "$1" /dev/urandom >$S/app-misc/c/c-1-1.gpkg.tar &&
	head -c 3000000 /dev/urandom >$S/app-misc/big/big-1-1.gpkg.tar &&
	set_channel repo testing amd64 s1
}

<html><body>
<h1><?= "Example Web Shop" ?></h1>
<p>Served by <?= "shopfront" ?> on tinyhttpd.</p>
</body></html>

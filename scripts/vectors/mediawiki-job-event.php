<?php
/**
 * Generates test/fixtures/mediawiki-job-events.json: job events signed the way MediaWiki's
 * EventBus extension signs them, computed by PHP itself, so switchyard's TypeScript can be
 * checked against PHP's own json_encode / serialize / ksort / hash_hmac rather than against a
 * re-implementation of them.
 *
 * What this script implements (our own code, written from MediaWiki's documented behaviour):
 *
 * - EventFactory::createEvent + createJobEvent: the event is the PHP array
 *     [ '$schema' => '/mediawiki/job/1.0.0',
 *       'meta' => [ 'uri', 'request_id', 'id', 'domain' (server name), 'stream' ],
 *       'database', 'type', ['delay_until'], ['sha1'], ['root_event' => [signature, dt]], 'params' ]
 *   with delay_until / root_event.dt in TS_ISO_8601 (gmdate 'Y-m-d\TH:i:s\Z'), root_event only
 *   when params hold rootJobSignature and rootJobTimestamp (TS_MW), and meta.request_id taken
 *   from params.requestId. No meta.dt: the intake service (EventGate) sets it after signing.
 * - EventFactory::signEvent: mediawiki_signature = hash_hmac('sha1', FormatJson::encode($event,
 *   false, FormatJson::ALL_OK), $wgSecretKey), i.e. json_encode with JSON_UNESCAPED_SLASHES |
 *   JSON_UNESCAPED_UNICODE, over the event before mediawiki_signature is added.
 * - the job's sha1 (set when removeDuplicates): sha1(serialize(getDeduplicationInfo())), where
 *   the info is [ 'type' => $type, 'params' => $params ] without rootJobSignature,
 *   rootJobTimestamp, jobReleaseTimestamp, requestId and the removeDuplicatesIgnoreParams names,
 *   the params ksort()ed (Job::getDeduplicationInfo).
 *
 * The params of each case go through one JSON round trip first (json_decode(json_encode(...)))
 * because every consumer receives them as JSON: that is the value both sides start from.
 * A job without a request id gets no meta.request_id (MediaWiki always has one; switchyard
 * leaves the member out when the job has none).
 *
 * Run: php scripts/vectors/mediawiki-job-event.php > test/fixtures/mediawiki-job-events.json
 * The tests read the committed output; they never run PHP.
 *
 * Cross-check: php scripts/vectors/mediawiki-job-event.php --verify SECRET < events.jsonl
 * verifies one event per line the way EventBus's EventBodyValidator does (json_decode as
 * arrays, unset mediawiki_signature, json_encode, hash_hmac, hash_equals), with meta.dt removed
 * first (it is set after signing), and prints "ok N" or the failing lines.
 */

if ( ( $argv[1] ?? '' ) === '--verify' ) {
	$secret = $argv[2] ?? '';
	$n = 0;
	$bad = 0;
	while ( ( $line = fgets( STDIN ) ) !== false ) {
		if ( trim( $line ) === '' ) {
			continue;
		}
		$n++;
		$event = json_decode( $line, true );
		$claimed = $event['mediawiki_signature'] ?? null;
		unset( $event['mediawiki_signature'], $event['meta']['dt'] );
		$expected = hash_hmac( 'sha1', json_encode( $event, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ), $secret );
		if ( !is_string( $claimed ) || !hash_equals( $expected, $claimed ) ) {
			$bad++;
			echo "FAIL line $n: ", trim( $line ), "\n";
		}
	}
	echo $bad === 0 ? "ok $n\n" : "failed $bad of $n\n";
	exit( $bad === 0 ? 0 : 1 );
}

const FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE;
const SECRET = 'wgSecretKey-ünïcode/öäü-0123456789abcdef';
const URI = 'https://placeholder.invalid/wiki/Special:Badtitle';

function isoOf( int $unix ): string {
	return gmdate( 'Y-m-d\TH:i:s\Z', $unix );
}

function tsMwToUnix( string $ts ): int {
	$d = DateTimeImmutable::createFromFormat( 'YmdHis', $ts, new DateTimeZone( 'UTC' ) );
	return $d->getTimestamp();
}

/** The job's params as MediaWiki would hold them: own params, then the bookkeeping. */
function jobParams( array $case ): array {
	$params = json_decode( json_encode( $case['params'], FLAGS ), true );
	if ( isset( $case['rootJob'] ) ) {
		if ( !empty( $case['rootJob']['isSelf'] ) ) {
			$params['rootJobIsSelf'] = true;
		}
		$params['rootJobSignature'] = $case['rootJob']['signature'];
		$params['rootJobTimestamp'] = $case['rootJob']['timestamp'];
	}
	if ( isset( $case['releaseTimestamp'] ) ) {
		$params['jobReleaseTimestamp'] = $case['releaseTimestamp'];
	}
	if ( isset( $case['requestId'] ) ) {
		$params['requestId'] = $case['requestId'];
	}
	return $params;
}

function dedupSha1( string $type, array $params, array $ignore ): string {
	foreach ( [ 'rootJobSignature', 'rootJobTimestamp', 'jobReleaseTimestamp', 'requestId' ] as $k ) {
		unset( $params[$k] );
	}
	foreach ( $ignore as $k ) {
		unset( $params[$k] );
	}
	ksort( $params );
	return sha1( serialize( [ 'type' => $type, 'params' => $params ] ) );
}

function buildEvent( array $case ): array {
	$params = jobParams( $case );
	$meta = [ 'uri' => URI ];
	if ( isset( $params['requestId'] ) ) {
		$meta['request_id'] = $params['requestId'];
	}
	$meta['id'] = $case['id'];
	$meta['domain'] = $case['serverName'];
	$meta['stream'] = $case['stream'];
	$event = [
		'$schema' => '/mediawiki/job/1.0.0',
		'meta' => $meta,
		'database' => $case['domain'],
		'type' => $case['type'],
	];
	if ( isset( $case['releaseTimestamp'] ) ) {
		$event['delay_until'] = isoOf( $case['releaseTimestamp'] );
	}
	if ( !empty( $case['removeDuplicates'] ) ) {
		$event['sha1'] = dedupSha1( $case['type'], $params, $case['removeDuplicatesIgnoreParams'] ?? [] );
	}
	if ( isset( $params['rootJobTimestamp'] ) && isset( $params['rootJobSignature'] ) ) {
		$event['root_event'] = [
			'signature' => $params['rootJobSignature'],
			'dt' => isoOf( tsMwToUnix( $params['rootJobTimestamp'] ) ),
		];
	}
	$event['params'] = $params;
	return $event;
}

$cases = [
	[
		'name' => 'basic refreshLinks job with dedup',
		'type' => 'refreshLinks',
		'domain' => 'enwiki',
		'serverName' => 'en.wikipedia.org',
		'params' => [ 'namespace' => 0, 'title' => 'Main_Page', 'causeAction' => 'edit', 'causeAgent' => 'Alice' ],
		'requestId' => 'a1b2c3d4e5f60718293a4b5c',
		'removeDuplicates' => true,
	],
	[
		'name' => 'unicode: non-ASCII, astral, line separators, control characters, HTML metacharacters',
		'type' => 'htmlCacheUpdate',
		'domain' => 'zhwiki',
		'serverName' => 'zh.wikipedia.org',
		'params' => [
			'title' => "Ünïcødé_页面_😀_مرحبا",
			'combining' => "e\u{301}",
			'separators' => "line\u{2028}para\u{2029}end",
			'controls' => "tab\tnl\ncr\rbs\x08ff\x0cnul\x01us\x1fdel\x7f",
			'html' => "<b>&amp;</b> 'quoted' \"double\"",
			'Ключ' => 'значение',
		],
		'requestId' => 'req-unicode',
		'removeDuplicates' => true,
	],
	[
		'name' => 'slashes and backslashes',
		'type' => 'cdnPurge',
		'domain' => 'commonswiki',
		'serverName' => 'commons.wikimedia.org',
		'params' => [
			'urls' => [ 'https://commons.wikimedia.org/wiki/File:A/B.jpg', '//upload.wikimedia.org/x/y.png' ],
			'path' => 'C:\\temp\\file',
			'script' => '</script><script>',
			'escaped' => '\\/',
		],
		'requestId' => 'req/with/slashes',
	],
	[
		'name' => 'nested arrays and maps, integer keys, booleans and null',
		'type' => 'recentChangesUpdate',
		'domain' => 'dewiki',
		'serverName' => 'de.wikipedia.org',
		'params' => [
			'pages' => [ 123 => [ 0, 'Foo' ], 456 => [ 1, 'Bar' ] ],
			'list' => [ 1, [ 2, [ 3, [] ] ] ],
			'map' => [ 'a' => [ 'b' => [ 'c' => null, 'd' => true, 'e' => false ] ] ],
			'empty' => [],
			'listLike' => [ '0' => 'zero', '1' => 'one' ],
		],
		'requestId' => 'req-nested',
		'removeDuplicates' => true,
	],
	[
		'name' => 'empty params (no request id)',
		'type' => 'null',
		'domain' => 'testwiki',
		'serverName' => 'test.wikipedia.org',
		'params' => [],
	],
	[
		'name' => 'numbers: ints, negatives, floats in both notations',
		'type' => 'statsUpdate',
		'domain' => 'frwiki',
		'serverName' => 'fr.wikipedia.org',
		'params' => [
			'int' => 42,
			'zero' => 0,
			'negative' => -7,
			'maxSafe' => 9007199254740991,
			'tenth' => 0.1,
			'sum' => 0.30000000000000004,
			'small' => 0.0001,
			'tiny' => 0.00001,
			'tinier' => 1.5e-7,
			'huge' => 1e25,
			'e21' => 1e21,
			'pi' => 3.141592653589793,
			'negFloat' => -2.5,
			'fraction' => 123456.789,
		],
		'requestId' => 'req-numbers',
		'removeDuplicates' => true,
	],
	[
		'name' => 'root job child, delayed, with dedup',
		'type' => 'refreshLinks',
		'domain' => 'enwiki',
		'serverName' => 'en.wikipedia.org',
		'params' => [ 'namespace' => 10, 'title' => 'Infobox', 'table' => 'templatelinks', 'recursive' => true ],
		'rootJob' => [ 'signature' => sha1( 'refreshlinks:templatelinks:enwiki:Template:Infobox' ), 'timestamp' => '20261206034035' ],
		'releaseTimestamp' => 1796528735,
		'requestId' => 'req-root',
		'removeDuplicates' => true,
	],
	[
		'name' => 'root job itself, ksort of mixed keys, removeDuplicatesIgnoreParams',
		'type' => 'htmlCacheUpdate',
		'domain' => 'jawiki',
		'serverName' => 'ja.wikipedia.org',
		'params' => [ '9' => 'nine', '10' => 'ten', 'b' => 2, 'a' => 1, 'Z' => 'upper', 'cause' => 'page-edit', 'é' => 'accent' ],
		'rootJob' => [ 'signature' => sha1( 'htmlcacheupdate:jawiki' ), 'timestamp' => '20260101000000', 'isSelf' => true ],
		'requestId' => 'req-root-self',
		'removeDuplicates' => true,
		'removeDuplicatesIgnoreParams' => [ 'cause' ],
	],
];

$out = [];
foreach ( $cases as $i => $case ) {
	$case['stream'] = 'mediawiki.job.' . $case['type'];
	$case['id'] = sprintf( '00000000-0000-4000-8000-%012d', $i + 1 );
	$event = buildEvent( $case );
	$signed = json_encode( $event, FLAGS );
	if ( $signed === false ) {
		fwrite( STDERR, "json_encode failed for {$case['name']}: " . json_last_error_msg() . "\n" );
		exit( 1 );
	}
	$event['mediawiki_signature'] = hash_hmac( 'sha1', $signed, SECRET );
	// What MediaWiki POSTs to the intake service. An empty top-level params array is written as
	// {} so the event meets the schema (params: type object); MediaWiki's verifier decodes it to
	// an array again, so the signed bytes still hold [].
	$wire = $event;
	if ( $wire['params'] === [] ) {
		$wire['params'] = new stdClass();
	}
	$input = [
		'type' => $case['type'],
		'domain' => $case['domain'],
		'serverName' => $case['serverName'],
		'stream' => $case['stream'],
		'id' => $case['id'],
		'params' => $case['params'] === [] ? new stdClass() : $case['params'],
		'requestId' => $case['requestId'] ?? null,
		'removeDuplicates' => !empty( $case['removeDuplicates'] ),
		'removeDuplicatesIgnoreParams' => $case['removeDuplicatesIgnoreParams'] ?? null,
		'releaseTimestamp' => isset( $case['releaseTimestamp'] ) ? $case['releaseTimestamp'] * 1000 : null,
		'rootJob' => isset( $case['rootJob'] ) ? [
			'signature' => $case['rootJob']['signature'],
			'timestamp' => tsMwToUnix( $case['rootJob']['timestamp'] ) * 1000,
			'isSelf' => !empty( $case['rootJob']['isSelf'] ),
		] : null,
	];
	$out[] = [
		'name' => $case['name'],
		'input' => $input,
		'signedBytes' => $signed,
		'signature' => $event['mediawiki_signature'],
		'sha1' => $event['sha1'] ?? null,
		'wire' => json_encode( $wire, FLAGS ),
	];
}

echo json_encode( [
	'generator' => 'scripts/vectors/mediawiki-job-event.php',
	'php' => PHP_VERSION,
	'secret' => SECRET,
	'vectors' => $out,
], FLAGS | JSON_PRETTY_PRINT ), "\n";

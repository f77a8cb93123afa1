// The stand-in providers' self-test (tests/providers/providers.test.mjs) run
// with the API suite: a failing social test can be trusted to be about
// gatehouse only while the providers still behave as documented.
import '../providers/providers.test.mjs';

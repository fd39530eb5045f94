// The translation unit that builds the tests' precompiled header
// (telemq_test_pch in TelemqTargets.cmake); it has no code of its own.

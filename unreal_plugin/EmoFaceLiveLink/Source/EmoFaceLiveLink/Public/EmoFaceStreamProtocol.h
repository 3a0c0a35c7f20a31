// emoface — MIT licence

#pragma once

#include "CoreMinimal.h"
#include "Misc/FrameRate.h"
#include "Misc/QualifiedFrameTime.h"

/**
 * The emoface WebSocket stream, schema version 1 (docs/LIVE.md, "WebSocket"): parsing and the rules that turn
 * server messages into Live Link subject updates. Kept free of Live Link and WebSocket types so the automation
 * test can replay recorded sessions through exactly the code the source runs.
 *
 * Rules (FEmoFaceSubjectState::Apply; the Python side of the same rules is replay() in
 * tests/test_unreal_plugin.py, and the shared vectors in unreal_plugin/tests/vectors/ pin both):
 *  - header:  (re)defines the subject's static data, property names = the header's names. Every header does,
 *             even one with unchanged names: a header follows a reset, which restarts frame numbers at 0, so
 *             Live Link's frame buffer must start over too. A version other than 1 is logged as a warning and
 *             the header is still used (newer servers only add fields).
 *  - frame:   pushed only when a header has been seen, its stream equals that header's stream and it has one
 *             value per name; anything else (a frame from before a reset, a wrong value count, a malformed
 *             frame) is dropped and counted.
 *  - emotion, state: only the source's status text changes.
 *  - error:   the server's reply to a bad client message; logged as a warning, the connection stays.
 *  - any other type is ignored (a newer server may add kinds); text that is not a JSON object with a string
 *    "type" is ignored with a warning.
 *
 * Characters (`emoface serve` hosts several; a client picks one with the query parameter character=NAME and is
 * given `default` without it; every header names its character). EmoFaceCharacterUrl(Url, Character), the URL a
 * source connects to (the Python side is character_url() in tests/test_unreal_plugin.py, the shared vector
 * character_urls.json pins both):
 *  - Character empty: Url unchanged (the server's default character).
 *  - the query (everything after the first '?') already has an '&'-separated item starting with "character=":
 *    Url unchanged. The URL wins, so a hand-written ws://...?character=x keeps working whatever the field says.
 *  - Url has a '?': "&character=" + Character appended, or "character=" + Character when Url ends with '?' or '&'.
 *  - no '?', and the part after "scheme://" has no '/' (ws://host:port): "/?character=" + Character appended.
 *  - no '?' otherwise (ws://host:port/ or ws://host/path): "?character=" + Character appended.
 * Character is not escaped: a valid name (IsValidEmoFaceCharacter) has nothing that needs escaping in a query.
 */

/** The kind of one server message. */
enum class EEmoFaceMessage : uint8
{
	Invalid,  // not JSON, or no string "type"
	Header,
	Frame,
	Emotion,
	State,
	Error,
	Unknown,  // a "type" this plugin does not know
};

/** A `header` message: what the following frames carry. */
struct FEmoFaceHeader
{
	int32 Version = 0;
	FString Stream;
	FString Character;  // the character the stream animates; empty from a server older than characters
	FString Rig;
	TArray<FName> Names;
	double Fps = 60.0;
	double AudioT0 = 0.0;  // Unix time at which audio time 0 arrived at the server
	FString EmotionSummary;
};

/** A `frame` message: the face at audio time Time (= Frame / fps). */
struct FEmoFaceFrame
{
	FString Stream;
	int32 Frame = 0;
	double Time = 0.0;
	TArray<float> Values;  // in the header's Names order
	bool bWellFormed = true;  // false when "frame" or "values" is missing or not numeric: the frame is dropped
};

/**
 * Parses one server text message. Fills OutHeader for a header, OutFrame for a frame, and OutText with the
 * emotion summary (emotion), the state ("speaking"/"idle") or the error message (error).
 */
EMOFACELIVELINK_API EEmoFaceMessage ParseEmoFaceMessage(const FString& Json, FEmoFaceHeader& OutHeader, FEmoFaceFrame& OutFrame, FString& OutText);

/** The rate frames are stamped with: Fps/1 when it is a whole number, an NTSC rate as the server's Live Link
 * packets carry it (29.97 -> 30000/1001), else thousandths in lowest terms (12.5 -> 25/2). */
EMOFACELIVELINK_API FFrameRate EmoFaceFrameRate(double Fps);

/** A frame's scene time: frame number Frame (no sub-frame) at EmoFaceFrameRate(Fps), i.e. its audio time. */
EMOFACELIVELINK_API FQualifiedFrameTime EmoFaceSceneTime(const FEmoFaceFrame& Frame, double Fps);

/** The host part of a ws:// or wss:// URL ("ws://127.0.0.1:8765/?token=x" -> "127.0.0.1"), for the Live Link UI. */
EMOFACELIVELINK_API FString EmoFaceUrlHost(const FString& Url);

/**
 * Whether Name may be a source's Character: empty (the server's default character), or 1-64 characters all
 * letters, digits, '_', '.' or '-' (ASCII only) — the names `emoface serve` accepts; it refuses any other with
 * HTTP 400, which would only show as a connection error retried forever.
 */
EMOFACELIVELINK_API bool IsValidEmoFaceCharacter(const FString& Name);

/** The URL to connect to for Character: Url with the query parameter character=Character, by the rules above. */
EMOFACELIVELINK_API FString EmoFaceCharacterUrl(const FString& Url, const FString& Character);

/** What a message means for the Live Link subject. */
enum class EEmoFaceSubjectEvent : uint8
{
	None,     // nothing to push (emotion, state, error, unknown, invalid)
	Static,   // push static data: property names = Header.Names
	Frame,    // push the frame
	Dropped,  // a frame that does not fit the current header
};

/** The subject side of one connection: applies parsed messages under the rules above. Game thread only. */
struct EMOFACELIVELINK_API FEmoFaceSubjectState
{
	bool bHasHeader = false;
	FEmoFaceHeader Header;     // the current header (valid when bHasHeader)
	FString State;             // last "state": speaking / idle
	FString EmotionSummary;    // from the header, then from each "emotion"
	int32 DroppedFrames = 0;   // frames that did not fit, since construction

	EEmoFaceSubjectEvent Apply(EEmoFaceMessage Kind, const FEmoFaceHeader& InHeader, const FEmoFaceFrame& InFrame, const FString& InText);

	/** A new connection: forget the header (the server sends a fresh one on connect); keep the drop count. */
	void ResetConnection();
};

// emoface — MIT licence

#include "EmoFaceLiveLinkSource.h"

#include "HAL/PlatformTime.h"
#include "ILiveLinkClient.h"
#include "IWebSocket.h"
#include "LiveLinkTypes.h"
#include "Misc/ScopeLock.h"
#include "Roles/LiveLinkBasicRole.h"
#include "WebSocketsModule.h"

#define LOCTEXT_NAMESPACE "EmoFaceLiveLinkSource"

namespace EmoFaceSource
{
	static constexpr double FirstRetryDelay = 0.5;
	static constexpr double MaxRetryDelay = 5.0;
	static constexpr int32 SchemaVersion = 1;
}

FEmoFaceLiveLinkSource::FEmoFaceLiveLinkSource(const FString& InUrl, const FString& InSubjectName, const FString& InCharacter, const FString& InToken)
	: Character(InCharacter)
	, Url(EmoFaceCharacterUrl(InUrl, InCharacter))
	, SubjectName(*InSubjectName)
	, Token(InToken)
{
}

FEmoFaceLiveLinkSource::~FEmoFaceLiveLinkSource()
{
	RequestSourceShutdown();
}

void FEmoFaceLiveLinkSource::ReceiveClient(ILiveLinkClient* InClient, FGuid InSourceGuid)
{
	Client = InClient;
	SourceGuid = InSourceGuid;
	Connect();
}

bool FEmoFaceLiveLinkSource::IsSourceStillValid() const
{
	FScopeLock Lock(&StatusLock);
	return Connection == EConnection::Connected;
}

bool FEmoFaceLiveLinkSource::RequestSourceShutdown()
{
	bShuttingDown = true;
	if (RetryHandle.IsValid())
	{
		FTSTicker::GetCoreTicker().RemoveTicker(RetryHandle);
		RetryHandle.Reset();
	}
	DetachSocket(/*bClose=*/true);
	Client = nullptr;
	{
		FScopeLock Lock(&StatusLock);
		Connection = EConnection::Stopped;
	}
	return true;  // nothing runs off the game thread: safe to destroy now
}

FText FEmoFaceLiveLinkSource::GetSourceType() const
{
	return LOCTEXT("SourceType", "emoface");
}

FText FEmoFaceLiveLinkSource::GetSourceMachineName() const
{
	return FText::FromString(EmoFaceUrlHost(Url));
}

FText FEmoFaceLiveLinkSource::GetSourceStatus() const
{
	FScopeLock Lock(&StatusLock);
	switch (Connection)
	{
	case EConnection::Idle:
	case EConnection::Connecting:
		return LOCTEXT("Connecting", "Connecting");

	case EConnection::Connected:
	{
		if (StatusCurves == 0 && StatusRig.IsEmpty())
		{
			return LOCTEXT("WaitingForHeader", "Connected: waiting for the header");
		}
		// The character first: with one source per character, it is what tells the rows apart.
		FString Text = StatusCharacter.IsEmpty() ? FString(TEXT("Connected: ")) : FString::Printf(TEXT("Connected: %s, "), *StatusCharacter);
		Text += FString::Printf(TEXT("%s, %d curves @ %g fps"), *StatusRig, StatusCurves, StatusFps);
		if (!StatusState.IsEmpty())
		{
			Text += TEXT(", ") + StatusState;
		}
		if (!StatusEmotion.IsEmpty())
		{
			Text += TEXT(", ") + StatusEmotion;
		}
		if (StatusDropped > 0)
		{
			Text += FString::Printf(TEXT(", %d frames dropped"), StatusDropped);
		}
		return FText::FromString(Text);
	}

	case EConnection::Waiting:
	{
		const double Left = FMath::Max(0.0, RetryAt - FPlatformTime::Seconds());
		FString Text = FString::Printf(TEXT("Reconnecting in %.0f s"), FMath::CeilToDouble(Left));
		if (!LastError.IsEmpty())
		{
			Text += FString::Printf(TEXT(" (%s)"), *LastError);
		}
		return FText::FromString(Text);
	}

	default:
		return LastError.IsEmpty() ? LOCTEXT("Stopped", "Stopped") : FText::FromString(LastError);
	}
}

void FEmoFaceLiveLinkSource::Connect()
{
	if (bShuttingDown)
	{
		return;
	}
	DetachSocket(/*bClose=*/true);
	Subject.ResetConnection();
	bHasClockOffset = false;
	{
		FScopeLock Lock(&StatusLock);
		Connection = EConnection::Connecting;
		StatusCharacter.Reset();
		StatusRig.Reset();
		StatusCurves = 0;
		StatusState.Reset();
		StatusEmotion.Reset();
	}

#if WITH_WEBSOCKETS
	TMap<FString, FString> Headers;
	if (!Token.IsEmpty())
	{
		// The server also accepts ?token= in the URL; a header keeps the token out of logs that print URLs.
		Headers.Add(TEXT("Authorization"), FString::Printf(TEXT("Bearer %s"), *Token));
	}
	Socket = FWebSocketsModule::Get().CreateWebSocket(Url, FString(), Headers);
	Socket->OnConnected().AddRaw(this, &FEmoFaceLiveLinkSource::HandleConnected);
	Socket->OnConnectionError().AddRaw(this, &FEmoFaceLiveLinkSource::HandleConnectionError);
	Socket->OnClosed().AddRaw(this, &FEmoFaceLiveLinkSource::HandleClosed);
	Socket->OnMessage().AddRaw(this, &FEmoFaceLiveLinkSource::HandleMessage);
	const FString CharacterText = Character.IsEmpty() ? FString(TEXT("the server's default character")) : FString::Printf(TEXT("character '%s'"), *Character);
	UE_LOG(LogEmoFaceLiveLink, Log, TEXT("Connecting to %s (subject '%s', %s)"), *Url, *SubjectName.ToString(), *CharacterText);
	Socket->Connect();
#else
	FScopeLock Lock(&StatusLock);
	Connection = EConnection::Stopped;
	LastError = TEXT("WebSockets are not available on this platform");
#endif
}

void FEmoFaceLiveLinkSource::DetachSocket(bool bClose)
{
	if (!Socket.IsValid())
	{
		return;
	}
	// Unbind first: a close must not call back into a source that is reconnecting or being destroyed.
	Socket->OnConnected().RemoveAll(this);
	Socket->OnConnectionError().RemoveAll(this);
	Socket->OnClosed().RemoveAll(this);
	Socket->OnMessage().RemoveAll(this);
	bool bOpen = false;
	{
		FScopeLock Lock(&StatusLock);
		bOpen = Connection == EConnection::Connecting || Connection == EConnection::Connected;
	}
	// A socket that already failed or closed needs no Close; one still opening does, or it would finish opening.
	if (bClose && bOpen)
	{
		Socket->Close();
	}
	Socket.Reset();
}

void FEmoFaceLiveLinkSource::ScheduleReconnect(const FString& Why)
{
	if (bShuttingDown || RetryHandle.IsValid())
	{
		return;
	}
	// Only unbind here: this runs inside the socket's own callback, so it is released on the retry tick.
	if (Socket.IsValid())
	{
		Socket->OnConnected().RemoveAll(this);
		Socket->OnConnectionError().RemoveAll(this);
		Socket->OnClosed().RemoveAll(this);
		Socket->OnMessage().RemoveAll(this);
	}

	const double Delay = RetryDelay;
	RetryDelay = FMath::Min(RetryDelay * 2.0, EmoFaceSource::MaxRetryDelay);
	{
		FScopeLock Lock(&StatusLock);
		Connection = EConnection::Waiting;
		LastError = Why;
		RetryAt = FPlatformTime::Seconds() + Delay;
	}
	UE_LOG(LogEmoFaceLiveLink, Log, TEXT("%s: %s; reconnecting in %.1f s"), *Url, *Why, Delay);
	RetryHandle = FTSTicker::GetCoreTicker().AddTicker(
		FTickerDelegate::CreateRaw(this, &FEmoFaceLiveLinkSource::HandleRetryTick), static_cast<float>(Delay));
}

bool FEmoFaceLiveLinkSource::HandleRetryTick(float DeltaTime)
{
	RetryHandle.Reset();  // returning false removes this ticker; a failed Connect may schedule the next one
	Connect();
	return false;
}

void FEmoFaceLiveLinkSource::HandleConnected()
{
	RetryDelay = EmoFaceSource::FirstRetryDelay;
	FScopeLock Lock(&StatusLock);
	Connection = EConnection::Connected;
	LastError.Reset();
	UE_LOG(LogEmoFaceLiveLink, Log, TEXT("Connected to %s"), *Url);
}

void FEmoFaceLiveLinkSource::HandleConnectionError(const FString& Error)
{
	// A wrong token shows up here too: the server answers the upgrade with HTTP 401.
	ScheduleReconnect(Error.IsEmpty() ? FString(TEXT("connection failed")) : Error);
}

void FEmoFaceLiveLinkSource::HandleClosed(int32 StatusCode, const FString& Reason, bool bWasClean)
{
	ScheduleReconnect(Reason.IsEmpty()
		? FString::Printf(TEXT("closed (%d)"), StatusCode)
		: FString::Printf(TEXT("closed (%d %s)"), StatusCode, *Reason));
}

void FEmoFaceLiveLinkSource::HandleMessage(const FString& Message)
{
	FEmoFaceHeader Header;
	FEmoFaceFrame Frame;
	FString Text;
	const EEmoFaceMessage Kind = ParseEmoFaceMessage(Message, Header, Frame, Text);

	switch (Kind)
	{
	case EEmoFaceMessage::Header:
		if (Header.Version != EmoFaceSource::SchemaVersion)
		{
			UE_LOG(LogEmoFaceLiveLink, Warning, TEXT("%s: header of schema version %d (this plugin reads %d); using it anyway"),
				*Url, Header.Version, EmoFaceSource::SchemaVersion);
		}
		// Empty from a server older than characters: it cannot say, so there is nothing to compare. Names are
		// case-sensitive on the server (npc1 and NPC1 are two characters), hence Equals rather than !=.
		if (!bWarnedCharacter && !Character.IsEmpty() && !Header.Character.IsEmpty() && !Header.Character.Equals(Character, ESearchCase::CaseSensitive))
		{
			bWarnedCharacter = true;
			UE_LOG(LogEmoFaceLiveLink, Warning, TEXT("%s: asked for character '%s', the server streams '%s' (a character= in the URL wins over the Character field)"),
				*Url, *Character, *Header.Character);
		}
		break;
	case EEmoFaceMessage::Error:
		UE_LOG(LogEmoFaceLiveLink, Warning, TEXT("%s: server error: %s"), *Url, *Text);
		break;
	case EEmoFaceMessage::Invalid:
		UE_LOG(LogEmoFaceLiveLink, Warning, TEXT("%s: ignored a message that is not an emoface JSON object: %.120s"), *Url, *Message);
		break;
	default:
		break;
	}

	switch (Subject.Apply(Kind, Header, Frame, Text))
	{
	case EEmoFaceSubjectEvent::Static:
		PushStaticData();
		break;
	case EEmoFaceSubjectEvent::Frame:
		PushFrame(Frame);
		break;
	case EEmoFaceSubjectEvent::Dropped:
		UE_LOG(LogEmoFaceLiveLink, Verbose, TEXT("Dropped frame %d of stream '%s' (%d values; header: stream '%s', %d names)"),
			Frame.Frame, *Frame.Stream, Frame.Values.Num(), *Subject.Header.Stream, Subject.Header.Names.Num());
		break;
	default:
		break;
	}

	FScopeLock Lock(&StatusLock);
	StatusCharacter = Subject.Header.Character;
	StatusRig = Subject.Header.Rig;
	StatusCurves = Subject.Header.Names.Num();
	StatusFps = Subject.Header.Fps;
	StatusState = Subject.State;
	StatusEmotion = Subject.EmotionSummary;
	StatusDropped = Subject.DroppedFrames;
}

void FEmoFaceLiveLinkSource::PushStaticData()
{
	// A new header may start a new stream whose audio clock restarts at 0: map it afresh.
	bHasClockOffset = false;
	if (!Client)
	{
		return;
	}
	FLiveLinkStaticDataStruct StaticData(FLiveLinkBaseStaticData::StaticStruct());
	StaticData.GetBaseData()->PropertyNames = Subject.Header.Names;
	// Pushing static data also clears the subject's buffered frames, which a reset (frames from 0 again) needs.
	Client->PushSubjectStaticData_AnyThread(FLiveLinkSubjectKey(SourceGuid, SubjectName), ULiveLinkBasicRole::StaticClass(), MoveTemp(StaticData));
}

void FEmoFaceLiveLinkSource::PushFrame(const FEmoFaceFrame& Frame)
{
	if (!Client)
	{
		return;
	}
	// World time follows the audio clock, anchored once to the local clock: frames stay evenly spaced however
	// unevenly the network delivers them, so Live Link's interpolation sees the server's real cadence.
	if (!bHasClockOffset)
	{
		ClockOffset = FPlatformTime::Seconds() - Frame.Time;
		bHasClockOffset = true;
	}

	FLiveLinkFrameDataStruct FrameData(FLiveLinkBaseFrameData::StaticStruct());
	FLiveLinkBaseFrameData& Data = *FrameData.GetBaseData();
	// The one-argument FLiveLinkWorldTime would set its offset to "now - time", i.e. back to the arrival time.
	Data.WorldTime = FLiveLinkWorldTime(ClockOffset + Frame.Time, 0.0);
	Data.MetaData.SceneTime = EmoFaceSceneTime(Frame, Subject.Header.Fps);
	Data.PropertyValues = Frame.Values;
	Client->PushSubjectFrameData_AnyThread(FLiveLinkSubjectKey(SourceGuid, SubjectName), MoveTemp(FrameData));
}

#undef LOCTEXT_NAMESPACE

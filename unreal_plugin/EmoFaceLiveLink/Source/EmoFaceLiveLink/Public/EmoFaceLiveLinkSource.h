// emoface — MIT licence

#pragma once

#include "CoreMinimal.h"
#include "Containers/Ticker.h"
#include "HAL/CriticalSection.h"
#include "ILiveLinkSource.h"

#include "EmoFaceStreamProtocol.h"

class IWebSocket;
class ILiveLinkClient;

EMOFACELIVELINK_API DECLARE_LOG_CATEGORY_EXTERN(LogEmoFaceLiveLink, Log, All);

/**
 * A Live Link source fed by an emoface WebSocket stream (`emoface serve`, or `emoface stream --to ws://`).
 * One subject, Basic role: property names = the header's curve names, one frame per `frame` message.
 * One character of the server (empty: its default one); several characters take one source each.
 * Reconnects by itself (0.5 s doubling to 5 s) and never blocks the game thread.
 */
class EMOFACELIVELINK_API FEmoFaceLiveLinkSource : public ILiveLinkSource
{
public:
	/** InCharacter: the server's character (IsValidEmoFaceCharacter); empty for its default one. */
	FEmoFaceLiveLinkSource(const FString& InUrl, const FString& InSubjectName, const FString& InCharacter, const FString& InToken);
	virtual ~FEmoFaceLiveLinkSource() override;

	//~ Begin ILiveLinkSource interface
	virtual void ReceiveClient(ILiveLinkClient* InClient, FGuid InSourceGuid) override;
	virtual bool CanBeDisplayedInUI() const override { return true; }
	virtual bool IsSourceStillValid() const override;
	virtual bool RequestSourceShutdown() override;
	virtual FText GetSourceType() const override;
	virtual FText GetSourceMachineName() const override;
	virtual FText GetSourceStatus() const override;
	//~ End ILiveLinkSource interface

private:
	enum class EConnection : uint8 { Idle, Connecting, Connected, Waiting, Stopped };

	void Connect();
	void DetachSocket(bool bClose);
	void ScheduleReconnect(const FString& Why);
	bool HandleRetryTick(float DeltaTime);

	void HandleConnected();
	void HandleConnectionError(const FString& Error);
	void HandleClosed(int32 StatusCode, const FString& Reason, bool bWasClean);
	void HandleMessage(const FString& Message);

	void PushStaticData();
	void PushFrame(const FEmoFaceFrame& Frame);

	const FString Character;  // as asked for; empty: the server's default character
	const FString Url;        // the URL connected to: EmoFaceCharacterUrl(the given URL, Character)
	const FName SubjectName;
	const FString Token;

	ILiveLinkClient* Client = nullptr;
	FGuid SourceGuid;

	TSharedPtr<IWebSocket> Socket;
	FTSTicker::FDelegateHandle RetryHandle;
	double RetryDelay = 0.5;  // seconds before the next attempt; doubles up to 5 s, back to 0.5 s on connect
	bool bShuttingDown = false;

	// Message handling runs on the game thread (UE delivers WebSocket events there).
	FEmoFaceSubjectState Subject;
	bool bHasClockOffset = false;
	double ClockOffset = 0.0;  // local clock - audio time, fixed by the first frame after each header
	bool bWarnedCharacter = false;  // a header of another character than asked for is logged once per source

	// Read by the Live Link UI through GetSourceStatus; guarded in case a caller is off the game thread.
	mutable FCriticalSection StatusLock;
	EConnection Connection = EConnection::Idle;
	FString LastError;
	double RetryAt = 0.0;  // FPlatformTime::Seconds() of the next attempt, while Waiting
	FString StatusCharacter;
	FString StatusRig;
	int32 StatusCurves = 0;
	double StatusFps = 0.0;
	FString StatusState;
	FString StatusEmotion;
	int32 StatusDropped = 0;
};

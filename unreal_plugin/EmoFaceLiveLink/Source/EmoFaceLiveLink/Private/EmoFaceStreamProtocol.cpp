// emoface — MIT licence

#include "EmoFaceStreamProtocol.h"

#include "Dom/JsonObject.h"
#include "Dom/JsonValue.h"
#include "Serialization/JsonReader.h"
#include "Serialization/JsonSerializer.h"

namespace EmoFaceProtocol
{
	static bool GetNumber(const TSharedPtr<FJsonObject>& Object, const TCHAR* Field, double& Out)
	{
		// Only real JSON numbers: TryGetNumber would also parse a string like "60".
		const TSharedPtr<FJsonValue> Value = Object->TryGetField(Field);
		if (!Value.IsValid() || Value->Type != EJson::Number)
		{
			return false;
		}
		Out = Value->AsNumber();
		return true;
	}

	static FString GetString(const TSharedPtr<FJsonObject>& Object, const TCHAR* Field)
	{
		FString Out;
		Object->TryGetStringField(Field, Out);
		return Out;
	}

	static FString EmotionSummary(const TSharedPtr<FJsonObject>& Object)
	{
		const TSharedPtr<FJsonObject>* Emotion = nullptr;
		return Object->TryGetObjectField(TEXT("emotion"), Emotion) && Emotion ? GetString(*Emotion, TEXT("summary")) : FString();
	}

	static void ParseHeader(const TSharedPtr<FJsonObject>& Object, FEmoFaceHeader& Out)
	{
		Out = FEmoFaceHeader();
		double Number = 0.0;
		Out.Version = GetNumber(Object, TEXT("version"), Number) ? static_cast<int32>(Number) : 0;
		Out.Stream = GetString(Object, TEXT("stream"));
		Out.Character = GetString(Object, TEXT("character"));
		Out.Rig = GetString(Object, TEXT("rig"));
		if (GetNumber(Object, TEXT("fps"), Number) && Number > 0.0)
		{
			Out.Fps = Number;
		}
		if (GetNumber(Object, TEXT("audio_t0"), Number))
		{
			Out.AudioT0 = Number;
		}
		const TArray<TSharedPtr<FJsonValue>>* Names = nullptr;
		if (Object->TryGetArrayField(TEXT("names"), Names) && Names)
		{
			Out.Names.Reserve(Names->Num());
			for (const TSharedPtr<FJsonValue>& Name : *Names)
			{
				// A non-string name becomes NAME_None rather than shifting every later value onto the wrong curve.
				FString Text;
				if (Name.IsValid())
				{
					Name->TryGetString(Text);
				}
				Out.Names.Add(FName(*Text));
			}
		}
		Out.EmotionSummary = EmotionSummary(Object);
	}

	static void ParseFrame(const TSharedPtr<FJsonObject>& Object, FEmoFaceFrame& Out)
	{
		Out = FEmoFaceFrame();
		Out.Stream = GetString(Object, TEXT("stream"));
		double Number = 0.0;
		Out.bWellFormed = GetNumber(Object, TEXT("frame"), Number);
		Out.Frame = static_cast<int32>(Number);
		if (GetNumber(Object, TEXT("time"), Number))
		{
			Out.Time = Number;
		}
		const TArray<TSharedPtr<FJsonValue>>* Values = nullptr;
		if (!Object->TryGetArrayField(TEXT("values"), Values) || !Values)
		{
			Out.bWellFormed = false;
			return;
		}
		Out.Values.Reserve(Values->Num());
		for (const TSharedPtr<FJsonValue>& Value : *Values)
		{
			if (!Value.IsValid() || Value->Type != EJson::Number)
			{
				Out.bWellFormed = false;
				Out.Values.Reset();
				return;
			}
			Out.Values.Add(static_cast<float>(Value->AsNumber()));
		}
	}
}

EEmoFaceMessage ParseEmoFaceMessage(const FString& Json, FEmoFaceHeader& OutHeader, FEmoFaceFrame& OutFrame, FString& OutText)
{
	using namespace EmoFaceProtocol;

	TSharedPtr<FJsonObject> Object;
	const TSharedRef<TJsonReader<>> Reader = TJsonReaderFactory<>::Create(Json);
	FString Type;
	if (!FJsonSerializer::Deserialize(Reader, Object) || !Object.IsValid() || !Object->TryGetStringField(TEXT("type"), Type))
	{
		return EEmoFaceMessage::Invalid;
	}

	if (Type == TEXT("header"))
	{
		ParseHeader(Object, OutHeader);
		return EEmoFaceMessage::Header;
	}
	if (Type == TEXT("frame"))
	{
		ParseFrame(Object, OutFrame);
		return EEmoFaceMessage::Frame;
	}
	if (Type == TEXT("emotion"))
	{
		OutText = EmotionSummary(Object);
		return EEmoFaceMessage::Emotion;
	}
	if (Type == TEXT("state"))
	{
		OutText = GetString(Object, TEXT("state"));
		return EEmoFaceMessage::State;
	}
	if (Type == TEXT("error"))
	{
		OutText = GetString(Object, TEXT("message"));
		return EEmoFaceMessage::Error;
	}
	return EEmoFaceMessage::Unknown;
}

FFrameRate EmoFaceFrameRate(double Fps)
{
	if (!(Fps > 0.0))
	{
		return FFrameRate(60, 1);
	}
	if (FMath::FloorToDouble(Fps) == Fps)
	{
		return FFrameRate(static_cast<int32>(Fps), 1);
	}
	// NTSC rates as the server's Live Link packets stamp them (29.97 -> 30000/1001, 59.94 -> 60000/1001): the same
	// character reaches Unreal at one rate whichever way it comes
	const double Ntsc = FMath::RoundToDouble(Fps * 1.001);
	if (FMath::Abs(Fps - Ntsc / 1.001) < 5e-3)
	{
		return FFrameRate(static_cast<int32>(Ntsc) * 1000, 1001);
	}
	// other rates in thousandths, in lowest terms (12.5 -> 25/2)
	const int32 Thousandths = static_cast<int32>(FMath::RoundToDouble(Fps * 1000.0));
	int32 Divisor = Thousandths, Rest = 1000;
	while (Rest != 0)
	{
		const int32 Next = Divisor % Rest;
		Divisor = Rest;
		Rest = Next;
	}
	return FFrameRate(Thousandths / Divisor, 1000 / Divisor);
}

FQualifiedFrameTime EmoFaceSceneTime(const FEmoFaceFrame& Frame, double Fps)
{
	return FQualifiedFrameTime(FFrameTime(FFrameNumber(Frame.Frame)), EmoFaceFrameRate(Fps));
}

FString EmoFaceUrlHost(const FString& Url)
{
	FString Rest = Url;
	int32 SchemeEnd = INDEX_NONE;
	if (Rest.FindChar(TEXT(':'), SchemeEnd) && Rest.Mid(SchemeEnd, 3) == TEXT("://"))
	{
		Rest.RightChopInline(SchemeEnd + 3);
	}
	for (int32 Index = 0; Index < Rest.Len(); ++Index)
	{
		if (Rest[Index] == TEXT('/') || Rest[Index] == TEXT('?') || Rest[Index] == TEXT('#'))
		{
			Rest.LeftInline(Index);
			break;
		}
	}
	int32 At = INDEX_NONE;
	if (Rest.FindLastChar(TEXT('@'), At))
	{
		Rest.RightChopInline(At + 1);
	}
	if (Rest.StartsWith(TEXT("[")))  // [::1]:8765
	{
		int32 Close = INDEX_NONE;
		return Rest.FindChar(TEXT(']'), Close) ? Rest.Mid(1, Close - 1) : Rest;
	}
	int32 Colon = INDEX_NONE;
	if (Rest.FindLastChar(TEXT(':'), Colon))
	{
		Rest.LeftInline(Colon);
	}
	return Rest;
}

bool IsValidEmoFaceCharacter(const FString& Name)
{
	static constexpr int32 MaxLength = 64;
	if (Name.Len() > MaxLength)
	{
		return false;
	}
	for (const TCHAR Char : Name)
	{
		// Spelled out rather than FChar::IsAlnum, which also takes non-ASCII letters the server refuses.
		const bool bAllowed = (Char >= TEXT('A') && Char <= TEXT('Z')) || (Char >= TEXT('a') && Char <= TEXT('z'))
			|| (Char >= TEXT('0') && Char <= TEXT('9')) || Char == TEXT('_') || Char == TEXT('.') || Char == TEXT('-');
		if (!bAllowed)
		{
			return false;
		}
	}
	return true;  // empty included: the server's default character
}

FString EmoFaceCharacterUrl(const FString& Url, const FString& Character)
{
	if (Character.IsEmpty())
	{
		return Url;
	}
	const FString Parameter = TEXT("character=") + Character;

	int32 Question = INDEX_NONE;
	if (Url.FindChar(TEXT('?'), Question))
	{
		TArray<FString> Items;
		Url.RightChop(Question + 1).ParseIntoArray(Items, TEXT("&"), /*InCullEmpty=*/false);
		for (const FString& Item : Items)
		{
			// The URL wins: the server reads the last character= it gets, so adding ours would override the URL's.
			if (Item.StartsWith(TEXT("character="), ESearchCase::CaseSensitive))
			{
				return Url;
			}
		}
		FString Out = Url;
		if (!Url.EndsWith(TEXT("?"), ESearchCase::CaseSensitive) && !Url.EndsWith(TEXT("&"), ESearchCase::CaseSensitive))
		{
			Out += TEXT("&");  // "ws://h/?" or "...&" already ends with a separator
		}
		return Out + Parameter;
	}

	// ws://host:port has no path yet; the request path must start with '/', so the query cannot follow the port
	// directly. No "scheme://" at all counts as no path too, as in the Python rule.
	const int32 SchemeEnd = Url.Find(TEXT("://"), ESearchCase::CaseSensitive);
	const bool bHasPath = SchemeEnd != INDEX_NONE && Url.RightChop(SchemeEnd + 3).Contains(TEXT("/"), ESearchCase::CaseSensitive);
	return Url + (bHasPath ? TEXT("?") : TEXT("/?")) + Parameter;
}

EEmoFaceSubjectEvent FEmoFaceSubjectState::Apply(EEmoFaceMessage Kind, const FEmoFaceHeader& InHeader, const FEmoFaceFrame& InFrame, const FString& InText)
{
	switch (Kind)
	{
	case EEmoFaceMessage::Header:
		Header = InHeader;
		bHasHeader = true;
		EmotionSummary = InHeader.EmotionSummary;
		return EEmoFaceSubjectEvent::Static;

	case EEmoFaceMessage::Frame:
		if (!bHasHeader || !InFrame.bWellFormed || InFrame.Stream != Header.Stream || InFrame.Values.Num() != Header.Names.Num())
		{
			++DroppedFrames;
			return EEmoFaceSubjectEvent::Dropped;
		}
		return EEmoFaceSubjectEvent::Frame;

	case EEmoFaceMessage::Emotion:
		EmotionSummary = InText;
		return EEmoFaceSubjectEvent::None;

	case EEmoFaceMessage::State:
		State = InText;
		return EEmoFaceSubjectEvent::None;

	default:  // error, unknown, invalid: no subject data changes
		return EEmoFaceSubjectEvent::None;
	}
}

void FEmoFaceSubjectState::ResetConnection()
{
	bHasHeader = false;
	Header = FEmoFaceHeader();
	State.Reset();
	EmotionSummary.Reset();
}

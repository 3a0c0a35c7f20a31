// emoface — MIT licence

#include "CoreMinimal.h"
#include "Misc/AutomationTest.h"

#if WITH_DEV_AUTOMATION_TESTS

#include "Dom/JsonObject.h"
#include "Dom/JsonValue.h"
#include "EmoFaceStreamProtocol.h"
#include "Interfaces/IPluginManager.h"
#include "Misc/FileHelper.h"
#include "Misc/Paths.h"
#include "Serialization/JsonReader.h"
#include "Serialization/JsonSerializer.h"

/**
 * Replays sessions recorded from a real `emoface serve` through the plugin's parser and subject rules and
 * compares every subject update with what tools/make_unreal_vectors.py wrote (the Python side checks the same
 * files against the same rules, so both ends agree on one contract). Likewise the character URLs
 * (character_urls.json through EmoFaceCharacterUrl) and the character a recorded header names.
 *
 * The vectors live in the repository at unreal_plugin/tests/vectors/, beside the plugin folder. A project that
 * copied only EmoFaceLiveLink into its Plugins/ folder has no vectors: the test then logs that and passes.
 */
IMPLEMENT_SIMPLE_AUTOMATION_TEST(FEmoFaceStreamProtocolTest, "EmoFace.LiveLink.Protocol",
	EAutomationTestFlags::EditorContext | EAutomationTestFlags::EngineFilter)

namespace EmoFaceProtocolTest
{
	static constexpr double Tolerance = 1e-5;

	static TSharedPtr<FJsonObject> LoadJsonObject(const FString& Path)
	{
		FString Text;
		TSharedPtr<FJsonObject> Object;
		if (FFileHelper::LoadFileToString(Text, *Path))
		{
			FJsonSerializer::Deserialize(TJsonReaderFactory<>::Create(Text), Object);
		}
		return Object;
	}

	static bool NamesEqual(const TArray<FName>& Got, const TArray<TSharedPtr<FJsonValue>>& Want)
	{
		if (Got.Num() != Want.Num())
		{
			return false;
		}
		for (int32 Index = 0; Index < Got.Num(); ++Index)
		{
			if (!Got[Index].ToString().Equals(Want[Index]->AsString(), ESearchCase::CaseSensitive))
			{
				return false;
			}
		}
		return true;
	}

	/** One session file against its expected updates; every mismatch becomes a test error. */
	static void Replay(FAutomationTestBase& Test, const FString& SessionPath, const FString& ExpectedPath)
	{
		const FString Name = FPaths::GetCleanFilename(SessionPath);
		TArray<FString> Lines;
		const TSharedPtr<FJsonObject> Expected = LoadJsonObject(ExpectedPath);
		const TArray<TSharedPtr<FJsonValue>>* Updates = nullptr;
		if (!FFileHelper::LoadFileToStringArray(Lines, *SessionPath) || !Expected.IsValid()
			|| !Expected->TryGetArrayField(TEXT("subject_updates"), Updates) || !Updates)
		{
			Test.AddError(FString::Printf(TEXT("%s: cannot read it or %s"), *Name, *FPaths::GetCleanFilename(ExpectedPath)));
			return;
		}

		FEmoFaceSubjectState State;
		int32 Next = 0;
		for (int32 LineIndex = 0; LineIndex < Lines.Num(); ++LineIndex)
		{
			if (Lines[LineIndex].TrimStartAndEnd().IsEmpty())
			{
				continue;
			}
			FEmoFaceHeader Header;
			FEmoFaceFrame Frame;
			FString Text;
			const EEmoFaceMessage Kind = ParseEmoFaceMessage(Lines[LineIndex], Header, Frame, Text);
			const EEmoFaceSubjectEvent Event = State.Apply(Kind, Header, Frame, Text);
			if (Event != EEmoFaceSubjectEvent::Static && Event != EEmoFaceSubjectEvent::Frame)
			{
				continue;
			}

			const FString Where = FString::Printf(TEXT("%s line %d"), *Name, LineIndex + 1);
			if (!Updates->IsValidIndex(Next))
			{
				Test.AddError(FString::Printf(TEXT("%s: an update beyond the %d expected"), *Where, Updates->Num()));
				return;
			}
			const TSharedPtr<FJsonObject> Want = (*Updates)[Next++]->AsObject();
			const FString WantEvent = Want.IsValid() ? Want->GetStringField(TEXT("event")) : FString();

			if (Event == EEmoFaceSubjectEvent::Static)
			{
				const TArray<TSharedPtr<FJsonValue>>* WantNames = nullptr;
				if (WantEvent != TEXT("static") || !Want->TryGetArrayField(TEXT("property_names"), WantNames) || !WantNames
					|| !NamesEqual(State.Header.Names, *WantNames))
				{
					Test.AddError(FString::Printf(TEXT("%s: static data with %d names, expected %s"), *Where, State.Header.Names.Num(), *WantEvent));
				}
				continue;
			}

			// A frame: number, scene time (frame at rate) and values.
			const TSharedPtr<FJsonObject>* SceneTime = nullptr;
			const TArray<TSharedPtr<FJsonValue>>* Rate = nullptr;
			const TArray<TSharedPtr<FJsonValue>>* WantValues = nullptr;
			if (WantEvent != TEXT("frame") || !Want->TryGetObjectField(TEXT("scene_time"), SceneTime) || !SceneTime
				|| !(*SceneTime)->TryGetArrayField(TEXT("rate"), Rate) || !Rate || Rate->Num() != 2
				|| !Want->TryGetArrayField(TEXT("values"), WantValues) || !WantValues)
			{
				Test.AddError(FString::Printf(TEXT("%s: pushed frame %d, expected %s"), *Where, Frame.Frame, *WantEvent));
				continue;
			}
			const FQualifiedFrameTime Time = EmoFaceSceneTime(Frame, State.Header.Fps);
			const int32 WantFrame = static_cast<int32>(Want->GetNumberField(TEXT("frame")));
			const int32 WantSceneFrame = static_cast<int32>((*SceneTime)->GetNumberField(TEXT("frame")));
			const int32 WantNumerator = static_cast<int32>((*Rate)[0]->AsNumber());
			const int32 WantDenominator = static_cast<int32>((*Rate)[1]->AsNumber());
			if (Frame.Frame != WantFrame || Time.Time.GetFrame().Value != WantSceneFrame || Time.Time.GetSubFrame() != 0.f
				|| Time.Rate.Numerator != WantNumerator || Time.Rate.Denominator != WantDenominator)
			{
				Test.AddError(FString::Printf(TEXT("%s: frame %d at %d/%d, expected frame %d, scene frame %d at %d/%d"), *Where,
					Frame.Frame, Time.Rate.Numerator, Time.Rate.Denominator, WantFrame, WantSceneFrame, WantNumerator, WantDenominator));
			}
			if (Frame.Values.Num() != WantValues->Num())
			{
				Test.AddError(FString::Printf(TEXT("%s: %d values, expected %d"), *Where, Frame.Values.Num(), WantValues->Num()));
				continue;
			}
			for (int32 Index = 0; Index < Frame.Values.Num(); ++Index)
			{
				const double WantValue = (*WantValues)[Index]->AsNumber();
				if (FMath::Abs(Frame.Values[Index] - WantValue) > Tolerance)
				{
					Test.AddError(FString::Printf(TEXT("%s: value %d (%s) is %f, expected %f"), *Where, Index,
						State.Header.Names.IsValidIndex(Index) ? *State.Header.Names[Index].ToString() : TEXT("?"),
						Frame.Values[Index], WantValue));
					break;
				}
			}
		}

		if (Next != Updates->Num())
		{
			Test.AddError(FString::Printf(TEXT("%s: %d subject updates, expected %d"), *Name, Next, Updates->Num()));
		}
		const int32 WantDropped = static_cast<int32>(Expected->GetNumberField(TEXT("dropped_frames")));
		if (State.DroppedFrames != WantDropped)
		{
			Test.AddError(FString::Printf(TEXT("%s: %d frames dropped, expected %d"), *Name, State.DroppedFrames, WantDropped));
		}
	}

	/** character_urls.json: an array of {"url", "character", "expected"}, each through EmoFaceCharacterUrl. */
	static void CheckCharacterUrls(FAutomationTestBase& Test, const FString& Path)
	{
		const FString Name = FPaths::GetCleanFilename(Path);
		FString Text;
		TArray<TSharedPtr<FJsonValue>> Cases;
		// An empty array would check nothing and pass: a broken vector file must not look like a passing one.
		if (!FFileHelper::LoadFileToString(Text, *Path) || !FJsonSerializer::Deserialize(TJsonReaderFactory<>::Create(Text), Cases)
			|| Cases.Num() == 0)
		{
			Test.AddError(FString::Printf(TEXT("%s: cannot read it, or it has no cases"), *Name));
			return;
		}
		for (int32 Index = 0; Index < Cases.Num(); ++Index)
		{
			const TSharedPtr<FJsonObject>* Case = nullptr;
			FString Url, Character, Want;
			if (!Cases[Index].IsValid() || !Cases[Index]->TryGetObject(Case) || !Case || !Case->IsValid()
				|| !(*Case)->TryGetStringField(TEXT("url"), Url) || !(*Case)->TryGetStringField(TEXT("character"), Character)
				|| !(*Case)->TryGetStringField(TEXT("expected"), Want))
			{
				Test.AddError(FString::Printf(TEXT("%s case %d: not an object with string url, character and expected"), *Name, Index));
				continue;
			}
			const FString Got = EmoFaceCharacterUrl(Url, Character);
			if (!Got.Equals(Want, ESearchCase::CaseSensitive))
			{
				Test.AddError(FString::Printf(TEXT("%s case %d: (\"%s\", \"%s\") gave \"%s\", expected \"%s\""), *Name, Index,
					*Url, *Character, *Got, *Want));
			}
		}
	}

	/** header_livelink.json: one recorded header, whose character (the client asked for none) is the default one. */
	static void CheckHeaderCharacter(FAutomationTestBase& Test, const FString& Path)
	{
		const FString Name = FPaths::GetCleanFilename(Path);
		FString Json;
		if (!FFileHelper::LoadFileToString(Json, *Path))
		{
			Test.AddError(FString::Printf(TEXT("%s: cannot read it"), *Name));
			return;
		}
		FEmoFaceHeader Header;
		FEmoFaceFrame Frame;
		FString Text;
		if (ParseEmoFaceMessage(Json, Header, Frame, Text) != EEmoFaceMessage::Header)
		{
			Test.AddError(FString::Printf(TEXT("%s: not parsed as a header"), *Name));
			return;
		}
		if (!Header.Character.Equals(TEXT("default"), ESearchCase::CaseSensitive))
		{
			Test.AddError(FString::Printf(TEXT("%s: character \"%s\", expected \"default\""), *Name, *Header.Character));
		}
	}
}

bool FEmoFaceStreamProtocolTest::RunTest(const FString& Parameters)
{
	const TSharedPtr<IPlugin> Plugin = IPluginManager::Get().FindPlugin(TEXT("EmoFaceLiveLink"));
	if (!Plugin.IsValid())
	{
		AddError(TEXT("the EmoFaceLiveLink plugin is not loaded"));
		return false;
	}
	FString Vectors = FPaths::ConvertRelativePathToFull(FPaths::Combine(Plugin->GetBaseDir(), TEXT(".."), TEXT("tests"), TEXT("vectors")));
	FPaths::CollapseRelativeDirectories(Vectors);

	// session: what a real server sent; edge_cases: hand-made messages the rules must survive.
	const TCHAR* const Pairs[][2] = {
		{ TEXT("session.jsonl"), TEXT("expected_subject.json") },
		{ TEXT("edge_cases.jsonl"), TEXT("expected_edge_cases.json") },
	};
	int32 Replayed = 0;
	for (const auto& Pair : Pairs)
	{
		const FString Session = FPaths::Combine(Vectors, Pair[0]);
		const FString Expected = FPaths::Combine(Vectors, Pair[1]);
		if (FPaths::FileExists(Session) && FPaths::FileExists(Expected))
		{
			EmoFaceProtocolTest::Replay(*this, Session, Expected);
			++Replayed;
		}
	}
	const FString CharacterUrls = FPaths::Combine(Vectors, TEXT("character_urls.json"));
	if (FPaths::FileExists(CharacterUrls))
	{
		EmoFaceProtocolTest::CheckCharacterUrls(*this, CharacterUrls);
		++Replayed;
	}
	const FString HeaderLiveLink = FPaths::Combine(Vectors, TEXT("header_livelink.json"));
	if (FPaths::FileExists(HeaderLiveLink))
	{
		EmoFaceProtocolTest::CheckHeaderCharacter(*this, HeaderLiveLink);
		++Replayed;
	}

	// The names the server accepts (its NAME pattern): these need no vectors, so they run in any copy of the plugin.
	TestTrue(TEXT("character 'npc_1.a-b' is valid"), IsValidEmoFaceCharacter(TEXT("npc_1.a-b")));
	TestTrue(TEXT("an empty character (the server's default) is valid"), IsValidEmoFaceCharacter(FString()));
	TestTrue(TEXT("a 64-character name is valid"), IsValidEmoFaceCharacter(FString::ChrN(64, TEXT('a'))));
	TestFalse(TEXT("character 'bad name' is invalid"), IsValidEmoFaceCharacter(TEXT("bad name")));
	TestFalse(TEXT("a 65-character name is invalid"), IsValidEmoFaceCharacter(FString::ChrN(65, TEXT('a'))));

	if (Replayed == 0)
	{
		AddInfo(FString::Printf(TEXT("No shared vectors at %s (the plugin was copied without unreal_plugin/tests): skipped"), *Vectors));
	}
	return !HasAnyErrors();
}

#endif // WITH_DEV_AUTOMATION_TESTS
